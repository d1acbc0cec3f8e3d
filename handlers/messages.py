"""/messages and /messages/{messageId}."""

import flask

from store import messages
from web import representations, services, urls
from web.bodies import read_message
from web.idempotency import idempotent
from web.negotiation import no_content, respond


def list_messages(limit: int = 20, cursor: str | None = None) -> flask.Response:
    """A page of message metadata."""
    page = messages.page(services.current().db, limit, cursor)
    headers = representations.next_link(urls.MESSAGES, page, limit)
    return respond(representations.message_page(page, limit), headers=headers)


@idempotent
def post_message() -> flask.Response:
    """Store the body, whatever its declared media type."""
    app = services.current()
    incoming = read_message(app.settings.max_message_bytes)
    info = messages.create(
        app.db, media_type=incoming.media_type, content=incoming.content, filename=incoming.filename
    )
    location = {"Location": urls.message(info.id)}
    return respond(representations.message_receipt(incoming, info), status=201, headers=location)


def get_message(message_id: int) -> flask.Response:
    """The stored content, byte for byte."""
    message = messages.get(services.current().db, message_id)
    return respond(
        representations.message_content(message),
        headers=representations.download_headers(message.info),
    )


def delete_message(message_id: int) -> flask.Response:
    """Forget a message."""
    messages.delete(services.current().db, message_id)
    return no_content()
