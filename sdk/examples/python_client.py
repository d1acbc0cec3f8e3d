"""Every operation of the Articles API through the client openapi-python-client generates.

    make sdk                                   # generates build/sdk/python-client/
    pip install build/sdk/python-client        # the package articles_api_client
    make run &                                 # the API on http://127.0.0.1:8080
    python sdk/examples/python_client.py       # ARTICLES_API_URL, ADMIN_PASSWORD to change

The one setting this needs: every request asks for JSON (`Accept: application/json`). The
client parses the JSON forms the spec lists first, and without an Accept the API answers its
default, the tutorial's text. Each step checks what it got and prints a line; the first
mismatch stops the script with an AssertionError.

What openapi-python-client 0.29 cannot express here: text/plain request bodies (its #542, so a
text message or echo is not sent), and any response media type but the first (#1248: the v2
forms are read with their generated models' `from_dict`).
"""

from __future__ import annotations

import base64
import io
import json
import os

from articles_api_client import AuthenticatedClient, Client
from articles_api_client.api.articles import (
    delete_article,
    get_article,
    list_articles,
    patch_article,
    post_article,
    put_article,
)
from articles_api_client.api.auth import delete_token, get_secret, list_tokens, post_token
from articles_api_client.api.index import get_index
from articles_api_client.api.messages import (
    delete_message,
    get_message,
    list_messages,
    post_message,
)
from articles_api_client.api.operations import get_healthz, get_livez, get_metrics, get_readyz
from articles_api_client.api.tutorial import (
    delete_echo,
    get_echo,
    get_hello,
    patch_echo,
    post_echo,
    put_echo,
)
from articles_api_client.api.users import delete_user, get_user, list_users, post_user
from articles_api_client.models import (
    ApiIndex,
    Article,
    ArticleInput,
    ArticlePage,
    ArticlePatch,
    ArticleV2,
    Echo,
    FileUpload,
    Health,
    Hello,
    IssuedToken,
    JsonObject,
    Message,
    MessagePage,
    Problem,
    TokenPage,
    TokenRequest,
    UserEntry,
    UserInput,
    UserPage,
    UserProfile,
)
from articles_api_client.types import File

BASE_URL = os.environ.get("ARTICLES_API_URL", "http://127.0.0.1:8080")
ADMIN_PASSWORD = os.environ.get("ADMIN_PASSWORD", "secret")
JSON = {"Accept": "application/json"}
V2 = "application/vnd.example.v2+json"
SECRET = "Shhh this is top secret spy stuff!"


def basic(username: str, password: str, accept: str = "application/json") -> AuthenticatedClient:
    """A client with HTTP Basic credentials (the generated client sends `<prefix> <token>`).

    A client of its own for another Accept: `with_headers` changes the httpx client the
    original shares, so every later request of the original would ask for that type too.
    """
    pair = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return AuthenticatedClient(
        base_url=BASE_URL, token=pair, prefix="Basic", headers={"Accept": accept}
    )


def step(name: str) -> None:
    print(f"ok {name}", flush=True)


def tutorial(anonymous: Client) -> None:
    hello = get_hello.sync(client=anonymous, name="Luis")
    assert isinstance(hello, Hello), hello
    assert (hello.hello, hello.number) == ("Luis", 3)
    index = get_index.sync(client=anonymous)
    assert isinstance(index, ApiIndex), index
    assert index.links["articles"].href == "/articles"
    step("hello, index")
    for method, echo in [
        ("GET", get_echo.sync(client=anonymous)),
        ("DELETE", delete_echo.sync(client=anonymous)),
        ("POST", post_echo.sync(client=anonymous, body=JsonObject.from_dict({"greeting": "hi"}))),
        ("PUT", put_echo.sync(client=anonymous, body=JsonObject.from_dict({"n": 1}))),
        ("PATCH", patch_echo.sync(client=anonymous, body=JsonObject.from_dict({}))),
    ]:
        assert isinstance(echo, Echo), echo
        assert echo.method == method
    step("echo, every method")


def articles(admin: AuthenticatedClient) -> None:
    created = post_article.sync_detailed(
        client=admin, body=ArticleInput(title="Hello", body="First article.")
    )
    assert created.status_code == 201, created.content
    article = created.parsed
    assert isinstance(article, Article), article
    assert (article.title, article.author) == ("Hello", "admin")
    etag = created.headers["etag"]
    assert created.headers["location"] == f"/articles/{article.id}"
    read = get_article.sync(article.id, client=admin)
    assert isinstance(read, Article) and read.body == "First article.", read
    # The v2 form: asked for with Accept, typed with its model (openapi-python-client#1248).
    with basic("admin", ADMIN_PASSWORD, accept=V2) as v2_client:
        v2 = get_article.sync_detailed(article.id, client=v2_client)
    assert v2.headers["content-type"] == V2
    assert ArticleV2.from_dict(json.loads(v2.content)).links.self_.href == f"/articles/{article.id}"
    page = list_articles.sync(client=admin, limit=10)
    assert isinstance(page, ArticlePage), page
    assert article.id in [item.id for item in page.items]
    step("articles: create (Location, ETag), read as JSON and v2, list")
    replaced = put_article.sync_detailed(
        article.id, client=admin, body=ArticleInput(title="Hello again", body="Edited."),
        if_match=etag,
    )  # fmt: skip
    assert replaced.status_code == 200, replaced.content
    assert isinstance(replaced.parsed, Article) and replaced.parsed.title == "Hello again"
    assert replaced.headers["etag"] != etag
    stale = put_article.sync_detailed(
        article.id, client=admin, body=ArticleInput(title="Lost", body="Stale."), if_match=etag
    )
    assert stale.status_code == 412
    assert isinstance(stale.parsed, Problem) and stale.parsed.title == "Precondition Failed"
    patched = patch_article.sync_detailed(
        article.id, client=admin, body=ArticlePatch(body="Patched."),
        if_match=replaced.headers["etag"],
    )  # fmt: skip
    assert isinstance(patched.parsed, Article) and patched.parsed.body == "Patched.", patched
    deleted = delete_article.sync_detailed(
        article.id, client=admin, if_match=patched.headers["etag"]
    )
    assert deleted.status_code == 204
    gone = get_article.sync_detailed(article.id, client=admin)
    assert gone.status_code == 404 and isinstance(gone.parsed, Problem)
    step("articles: replace with If-Match, 412 when stale, merge-patch, delete")


def messages(anonymous: Client) -> None:
    sent: list[tuple[Message, bytes]] = []
    as_json = post_message.sync(client=anonymous, body=JsonObject.from_dict({"message": "Hi"}))
    assert isinstance(as_json, Message) and as_json.media_type == "application/json", as_json
    stored_json = get_message.sync(as_json.id, client=anonymous)
    assert isinstance(stored_json, File), stored_json
    assert json.loads(stored_json.payload.read()) == {"message": "Hi"}
    # Binary, NUL included (tests/contract/test_sdk.py says why not 128-255).
    payload = bytes(range(128))
    binary = post_message.sync(client=anonymous, body=File(payload=io.BytesIO(payload)))
    assert isinstance(binary, Message) and binary.size == len(payload), binary
    sent.append((binary, payload))
    upload = File(payload=io.BytesIO(b"file body"), file_name="x.txt", mime_type="text/plain")
    uploaded = post_message.sync(client=anonymous, body=FileUpload(file=upload))
    assert isinstance(uploaded, Message) and uploaded.filename == "x.txt", uploaded
    sent.append((uploaded, b"file body"))
    for message, content in sent:
        stored = get_message.sync(message.id, client=anonymous)
        assert isinstance(stored, File) and stored.payload.read() == content, stored
    listing = list_messages.sync(client=anonymous, limit=100)
    assert isinstance(listing, MessagePage), listing
    assert {as_json.id, *(m.id for m, _ in sent)} <= {item.id for item in listing.items}
    for message in [as_json, *(m for m, _ in sent)]:
        assert delete_message.sync_detailed(message.id, client=anonymous).status_code == 204
    step("messages: JSON, binary and multipart, read back byte for byte, deleted")


def users(anonymous: Client, admin: AuthenticatedClient) -> None:
    steve = get_user.sync(2, client=anonymous)
    assert isinstance(steve, UserEntry) and steve.to_dict() == {"2": "steve"}, steve
    page = list_users.sync(client=anonymous, limit=3)
    assert isinstance(page, UserPage), page
    assert [user.username for user in page.items] == ["admin", "john", "steve"]
    grace = post_user.sync(client=admin, body=UserInput(username="grace", password="correct-hor5e"))
    assert isinstance(grace, UserProfile) and grace.username == "grace", grace
    assert delete_user.sync_detailed(grace.id, client=admin).status_code == 204
    step("users: GET /users/2 is {'2': 'steve'}, list, create and delete")


def tokens_and_secrets(admin: AuthenticatedClient) -> None:
    assert get_secret.sync(client=admin) == SECRET
    issued = post_token.sync(client=admin, body=TokenRequest(expires_in=600))
    assert isinstance(issued, IssuedToken), issued
    bearer = AuthenticatedClient(base_url=BASE_URL, token=issued.access_token, headers=JSON)
    assert get_secret.sync(client=bearer) == SECRET
    listing = list_tokens.sync(client=bearer)
    assert isinstance(listing, TokenPage) and issued.id in [t.id for t in listing.items]
    assert delete_token.sync_detailed(issued.id, client=bearer).status_code == 204
    refused = get_secret.sync_detailed(client=bearer)
    assert refused.status_code == 401 and isinstance(refused.parsed, Problem)
    step("secrets with Basic and Bearer; tokens issued, listed, revoked")


def probes(anonymous: Client) -> None:
    for probe in (get_livez.sync(client=anonymous), get_readyz.sync(client=anonymous)):
        assert isinstance(probe, Health) and probe.status.value == "ok", probe
    # /healthz is /livez under its deprecated name: the answer says so, and until when.
    old = get_healthz.sync_detailed(client=anonymous)
    assert isinstance(old.parsed, Health) and old.parsed.status.value == "ok"
    assert old.headers["Deprecation"] == "@1796169600", old.headers
    assert old.headers["Sunset"] == "Fri, 31 Dec 2027 00:00:00 GMT"
    metrics = get_metrics.sync(client=anonymous)
    assert isinstance(metrics, str) and "http_requests_total" in metrics
    step("health probes (and /healthz deprecated) and metrics")


def main() -> None:
    with (
        Client(base_url=BASE_URL, headers=JSON) as anonymous,
        basic("admin", ADMIN_PASSWORD) as admin,
    ):
        tutorial(anonymous)
        articles(admin)
        messages(anonymous)
        users(anonymous, admin)
        tokens_and_secrets(admin)
        probes(anonymous)
    print("done", flush=True)


if __name__ == "__main__":
    main()
