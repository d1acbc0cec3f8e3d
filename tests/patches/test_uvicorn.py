"""web.patches: the upstream code each patch extends is still the code it was written against,
and what the live-server tests (tests/platform/test_serving.py) cannot arrange, such as
pipelining."""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import inspect
from typing import Any

import httptools
import pytest
import uvicorn
from uvicorn.server import ServerState

from errors import REFUSED_KEY, BodyTooSlow
from web.patches.one_write import FLUSH_AT, OneWrite
from web.patches.uvicorn_limits import LimitedHttpToolsProtocol, RequestLimits

HTTPTOOLS_IMPL = "uvicorn.protocols.http.httptools_impl"

# sha256 of the source of each upstream function web.patches.uvicorn_limits overrides or relies
# on, as reviewed (uvicorn 0.55.0, httptools 0.9.0). A mismatch means a new release changed it:
# read the new code, bring the patch in line (or delete it if uvicorn now limits the head
# itself), update the hash.
REVIEWED = {
    # Overridden, each calling uvicorn's own first or last.
    f"{HTTPTOOLS_IMPL}.HttpToolsProtocol.__init__": "4f08999410347141",
    f"{HTTPTOOLS_IMPL}.HttpToolsProtocol.connection_made": "6efb565ff3d36b91",
    f"{HTTPTOOLS_IMPL}.HttpToolsProtocol.connection_lost": "c91a4c9bf2e29c55",
    # Feeds the parser; answers any parser error, the patch's HeadTooLarge among them, with
    # send_400_response (which the patch skips once it has answered).
    f"{HTTPTOOLS_IMPL}.HttpToolsProtocol.data_received": "010a7ae59a5d3b1a",
    f"{HTTPTOOLS_IMPL}.HttpToolsProtocol.send_400_response": "ae5a4a3782b646fd",
    f"{HTTPTOOLS_IMPL}.HttpToolsProtocol.on_message_begin": "96d377fdc7c2baef",
    f"{HTTPTOOLS_IMPL}.HttpToolsProtocol.on_headers_complete": "1ea8589acfad92d8",
    f"{HTTPTOOLS_IMPL}.HttpToolsProtocol.on_message_complete": "1fbad42dc31fc01f",
    # Adds each piece of body to the cycle's and pauses reading over HIGH_WATER_LIMIT (the
    # body's rate is not the client's while paused), or throws it away after the response.
    f"{HTTPTOOLS_IMPL}.HttpToolsProtocol.on_body": "dba9c32aeba35b6a",
    "uvicorn.protocols.http.flow_control.FlowControl.pause_reading": "7c27388bb984e9ed",
    # Sends 100 Continue on the app's first read (waiting_for_100_continue until then), and
    # returns what came of the body whenever message_event is set: the patch sets it to make
    # a read under way return, and web.request_context then raises the refusal.
    f"{HTTPTOOLS_IMPL}.RequestResponseCycle.receive": "8124ae006be71184",
    # What the head's size is measured from: the url's pieces joined, each header kept.
    f"{HTTPTOOLS_IMPL}.HttpToolsProtocol.on_url": "37be44e962b04ca8",
    # 0.55.0 strips a value's trailing whitespace (RFC 9110 5.5): _head_size counts a head
    # without optional whitespace, as before; bytes read are counted as they come. It appends
    # every field to the scope's headers, trailer fields too: the patch passes it head fields
    # only.
    f"{HTTPTOOLS_IMPL}.HttpToolsProtocol.on_header": "1e86ebb6cea0458c",
    # Returns None: asyncio closes a lingering connection when the client closes its side.
    f"{HTTPTOOLS_IMPL}.HttpToolsProtocol.eof_received": "5652627579a02369",
    # Arms the keep-alive timeout after each response: the time between requests is its.
    f"{HTTPTOOLS_IMPL}.HttpToolsProtocol.on_response_complete": "64e254f28e389e76",
    # Closes the connection after the response when keep_alive is False: a head refused
    # while an earlier request's response is on its way.
    f"{HTTPTOOLS_IMPL}.RequestResponseCycle.send": "abdd8601b326a8da",
    # web.patches.one_write: the protocol and its cycles write only through the transport given
    # to connection_made (above), a response's head and each body message with a write each.
    f"{HTTPTOOLS_IMPL}.RequestResponseCycle.__init__": "4d2f220910c33c12",
}

# uvicorn.Config's options as reviewed (0.55.0): none limits a head's size or read time for
# httptools (h11_max_incomplete_event_size is h11's only).
REVIEWED_CONFIG_OPTIONS = {
    "access_log", "app", "backlog", "callback_notify", "date_header", "env_file", "factory",
    "fd", "forwarded_allow_ips", "h11_max_incomplete_event_size", "headers", "host", "http",
    "http2", "interface", "lifespan", "limit_concurrency", "limit_max_requests",
    "limit_max_requests_jitter", "log_config", "log_level", "loop", "port", "proxy_headers",
    "reload", "reload_delay", "reload_dirs", "reload_excludes", "reload_includes",
    "reset_contextvars", "root_path", "server_header", "ssl_ca_certs", "ssl_cert_reqs",
    "ssl_certfile", "ssl_ciphers", "ssl_context_factory", "ssl_keyfile",
    "ssl_keyfile_password", "ssl_version", "timeout_graceful_shutdown", "timeout_keep_alive",
    "timeout_notify", "timeout_worker_healthcheck", "uds", "use_colors", "workers", "ws",
    "ws_max_queue", "ws_max_size", "ws_per_message_deflate", "ws_ping_interval",
    "ws_ping_timeout",
}  # fmt: skip


def upstream(name: str) -> Any:
    """What a dotted name "module.Class.function" names."""
    module_name, class_name, function_name = name.rsplit(".", 2)
    return getattr(getattr(importlib.import_module(module_name), class_name), function_name)


@pytest.mark.parametrize("name", sorted(REVIEWED))
def test_upstream_code_is_the_reviewed_code(name: str) -> None:
    source = inspect.getsource(upstream(name))
    assert hashlib.sha256(source.encode()).hexdigest()[:16] == REVIEWED[name], (
        f"{name} changed upstream; re-review web/patches/uvicorn_limits.py against it"
    )


def test_uvicorn_has_no_new_options() -> None:
    new = set(inspect.signature(uvicorn.Config).parameters) - REVIEWED_CONFIG_OPTIONS
    assert not new, (
        f"uvicorn.Config has new options {sorted(new)}: if one limits a request head's size or "
        "read time for httptools, use it and delete web/patches/uvicorn_limits.py"
    )


class Events:
    """A parser protocol that records httptools' callbacks."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def on_message_begin(self) -> None:
        self.seen.append("message begin")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.seen.append(f"header {name.decode()}")

    def on_headers_complete(self) -> None:
        self.seen.append("headers complete")

    def on_message_complete(self) -> None:
        self.seen.append("message complete")


def test_httptools_keeps_a_header_until_it_is_complete() -> None:
    # Why counting in on_header is too late: the header's bytes are held, unseen, until then.
    events = Events()
    parser = httptools.HttpRequestParser(events)
    parser.feed_data(b"GET / HTTP/1.1\r\nX-Huge: " + b"a" * 100_000)
    assert events.seen == ["message begin"]
    parser.feed_data(b"a\r\n\r\n")
    assert events.seen == ["message begin", "header X-Huge", "headers complete", "message complete"]


def test_httptools_gives_trailer_fields_to_on_header_after_the_head() -> None:
    # Why on_header must tell a trailer field from a header field: the same callback gets both.
    events = Events()
    parser = httptools.HttpRequestParser(events)
    parser.feed_data(
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nX-Trailer: t\r\n\r\n"
    )
    assert events.seen == [
        "message begin",
        "header Transfer-Encoding",
        "headers complete",
        "header X-Trailer",
        "message complete",
    ]


def test_blank_lines_before_a_request_start_no_message() -> None:
    events = Events()
    parser = httptools.HttpRequestParser(events)
    parser.feed_data(b"\r\n\r\n")
    assert events.seen == []


def test_an_exception_in_a_callback_stops_the_parser_as_a_parser_error() -> None:
    class Refusing(Events):
        def on_headers_complete(self) -> None:
            raise LookupError("refused")

    events = Refusing()
    parser = httptools.HttpRequestParser(events)
    with pytest.raises(httptools.HttpParserError) as raised:
        parser.feed_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\n\r\n")
    assert isinstance(raised.value, httptools.HttpParserCallbackError)
    assert isinstance(raised.value.__context__, LookupError)
    assert events.seen == ["message begin", "header Host"]  # nothing after the refusal


class Transport:
    """Just enough of an asyncio transport for uvicorn's protocol: what is written, and whether
    it was closed."""

    def __init__(self) -> None:
        self.written = b""
        self.writes = 0  # calls of write: each a send() on a real socket
        self.closed = False
        self.eof = False

    def get_extra_info(self, name: str) -> Any:
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 50000)}.get(name)

    def write(self, data: bytes) -> None:
        assert not self.closed
        assert not self.eof
        self.written += data
        self.writes += 1

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof = True

    def abort(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def connection(limits: RequestLimits, app: Any) -> tuple[LimitedHttpToolsProtocol, Transport]:
    """A connection of the patched protocol to `app`, made on the running loop."""
    config = uvicorn.Config(app, http=limits, log_level="warning")
    config.load()
    protocol = limits(config, ServerState(), {}, asyncio.get_running_loop())
    transport = Transport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    return protocol, transport


def responder(release: asyncio.Event) -> Any:
    """An ASGI app that answers 200 "ok" once `release` is set."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while (await receive())["more_body"]:
            pass
        await release.wait()
        headers = [(b"content-length", b"2")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def test_a_huge_pipelined_head_lets_the_response_before_it_finish() -> None:
    async def scenario() -> Transport:
        release = asyncio.Event()
        protocol, transport = connection(RequestLimits(1000, 10), responder(release))
        protocol.data_received(GET + b"GET / HTTP/1.1\r\nX-Huge: " + b"a" * 2000)
        protocol.data_received(b"a" * 2000)  # over the limit: refused, nothing written yet
        protocol.data_received(b"a" * 2000)  # not parsed
        assert transport.written == b""
        release.set()
        await asyncio.sleep(0.01)
        return transport

    transport = asyncio.run(scenario())
    # The answer to the first request, whole, and nothing after it but the connection's end.
    assert transport.written == (
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
    )
    assert transport.closed


def test_a_body_read_with_the_next_head_is_not_counted_as_that_head() -> None:
    async def scenario() -> Transport:
        release = asyncio.Event()
        release.set()
        protocol, transport = connection(RequestLimits(1000, 10), responder(release))
        body = b"b" * 5000
        post = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + body
        protocol.data_received(post + GET[:10])  # one read: a request, then a head begun
        protocol.data_received(GET[10:])
        await asyncio.sleep(0.01)
        return transport

    transport = asyncio.run(scenario())
    assert transport.written.count(b"HTTP/1.1 200 OK\r\n") == 2
    assert not transport.closed


def answer(limits: RequestLimits, request: bytes = GET) -> Transport:
    """What a connection with these limits writes in answer to `request`."""

    async def scenario() -> Transport:
        release = asyncio.Event()
        release.set()
        protocol, transport = connection(limits, responder(release))
        protocol.data_received(request)
        await asyncio.sleep(0.01)
        return transport

    return asyncio.run(scenario())


RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


def test_a_response_leaves_in_one_write() -> None:
    transport = answer(RequestLimits(1000, 10))
    assert transport.written == RESPONSE
    assert transport.writes == 1
    # Without web.patches.one_write (PATCHES_OFF=one_write): uvicorn's head, then its body.
    transport = answer(RequestLimits(1000, 10, one_write=False))
    assert transport.written == RESPONSE
    assert transport.writes == 2


def test_pipelined_responses_leave_in_order() -> None:
    transport = answer(RequestLimits(1000, 10), GET * 3)
    assert transport.written == RESPONSE * 3


def one_write() -> tuple[OneWrite, Transport]:
    transport = Transport()
    return OneWrite(transport, asyncio.get_running_loop()), transport  # type: ignore[arg-type]


def test_what_is_written_in_one_turn_of_the_loop_is_sent_at_its_end() -> None:
    async def scenario() -> None:
        wrapper, transport = one_write()
        wrapper.write(b"head")
        wrapper.write(b"body")
        assert (transport.written, wrapper.get_write_buffer_size()) == (b"", 8)
        await asyncio.sleep(0)
        assert (transport.written, transport.writes) == (b"headbody", 1)
        assert wrapper.get_write_buffer_size() == 0

    asyncio.run(scenario())


def test_a_large_write_goes_at_once_to_meet_flow_control() -> None:
    async def scenario() -> None:
        wrapper, transport = one_write()
        wrapper.write(b"head")
        wrapper.write(b"b" * FLUSH_AT)
        assert (len(transport.written), transport.writes) == (FLUSH_AT + 4, 1)
        wrapper.write(b"tail")
        await asyncio.sleep(0)
        assert transport.written.endswith(b"tail")
        assert transport.writes == 2

    asyncio.run(scenario())


def test_closing_or_ending_sends_what_is_pending_first_and_abort_drops_it() -> None:
    async def scenario() -> None:
        wrapper, transport = one_write()
        wrapper.write(b"last")
        wrapper.close()
        assert (transport.written, transport.closed) == (b"last", True)
        wrapper, transport = one_write()
        wrapper.write(b"431")
        wrapper.write_eof()
        assert (transport.written, transport.eof) == (b"431", True)
        wrapper, transport = one_write()
        wrapper.write(b"lost")
        wrapper.abort()
        await asyncio.sleep(0)
        assert transport.written == b""

    asyncio.run(scenario())


def late_reader(delay: float) -> Any:
    """An ASGI app that reads its request's body only after `delay` seconds, then answers 200
    with the body's size."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(delay)
        size = 0
        while True:
            message = await receive()
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = str(size).encode()
        headers = [(b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


# A body must come at a billion bytes a second after 0.1 s: any time counted against the
# client beyond that is a refusal.
STRICT = RequestLimits(100_000, 10, body_timeout=0.1, body_min_rate=1e9)


async def until(condition: Any) -> None:
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("never")


def test_time_the_app_leaves_a_body_unread_is_not_the_clients() -> None:
    async def scenario() -> Transport:
        protocol, transport = connection(STRICT, late_reader(0.5))
        head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
        protocol.data_received(head + b"b" * 70_000)  # over HIGH_WATER_LIMIT: reading paused
        assert protocol.flow.read_paused
        await until(lambda: not protocol.flow.read_paused)  # the app reads, after 0.5 s
        protocol.data_received(b"b" * 30_000)
        await until(lambda: transport.written)
        return transport

    transport = asyncio.run(scenario())
    assert transport.written.startswith(b"HTTP/1.1 200 OK\r\n")
    assert transport.written.endswith(b"\r\n\r\n100000")


def test_time_before_100_continue_is_not_the_clients() -> None:
    async def scenario() -> Transport:
        protocol, transport = connection(STRICT, late_reader(0.5))
        protocol.data_received(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        # The client waits for 100 Continue, which the app's first read sends, after 0.5 s.
        await until(lambda: b"100 Continue" in transport.written)
        protocol.data_received(b"hello")
        await until(lambda: b"200 OK" in transport.written)
        return transport

    transport = asyncio.run(scenario())
    assert transport.written.endswith(b"\r\n\r\n5")


def test_a_body_slower_than_the_rate_is_refused_to_the_app() -> None:
    async def scenario() -> tuple[LimitedHttpToolsProtocol, dict[str, Any]]:
        scopes: list[dict[str, Any]] = []

        async def app(scope: Any, receive: Any, send: Any) -> None:
            scopes.append(scope)
            while (await receive())["more_body"]:  # returns when the server stops reading
                if REFUSED_KEY in scope.get("extensions", {}):
                    return  # as web.request_context raises it

        protocol, _transport = connection(STRICT, app)
        head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"
        protocol.data_received(head + b"b")
        await until(lambda: scopes and REFUSED_KEY in scopes[0].get("extensions", {}))
        protocol.data_received(b"b" * 9)  # thrown away: the body is never complete
        return protocol, scopes[0]

    protocol, scope = asyncio.run(scenario())
    refusal = scope["extensions"][REFUSED_KEY]
    assert isinstance(refusal, BodyTooSlow)
    assert refusal.headers == {"Connection": "close"}
    assert protocol.cycle is not None
    assert not protocol.cycle.keep_alive
    assert protocol.cycle.more_body
