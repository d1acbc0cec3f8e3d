"""A cap on the size of a request's head and on the time to receive it, a minimum rate for its
body, trailer fields kept out of its header fields, for uvicorn's httptools; problem+json for a
head it cannot parse.

Extends uvicorn 0.55.0 `uvicorn.protocols.http.httptools_impl.HttpToolsProtocol` (httptools
0.9.0), through uvicorn's public hook: `Config(http=...)` takes a protocol factory.

Why: uvicorn's httptools protocol has no header size limit and no header-read timeout
(Kludex/uvicorn#157; #1684 "feat: add support for limit header size" and #2019 were closed
unmerged; only the h11 protocol has `h11_max_incomplete_event_size`). httptools keeps a header
field in memory until it is complete, concatenating it piece by piece, so a 128 MiB header was
accepted after 21 s (+256 MB RSS), four 64 MiB headers at once slowed GET /hello on that server
to 1.8 s, and a client sending a head a byte at a time was never timed out: uvicorn's
`timeout_keep_alive` only runs between requests, and any byte resets it. Nor has it any timeout
on a body: a POST announcing `Content-Length: 1000` and sending a byte every 10 s held its
connection and its request for as long as the client liked (the app's read of the body waits with
no end). And httptools gives a chunked body's trailer fields to the same `on_header` callback as
the head's, which uvicorn appends to the request's header fields: a trailer `Content-Type: x` made
a valid POST a 415, a trailer `X-Request-ID` replaced the client's own, and trailer bytes were held
without limit. No uvicorn issue covers either (Kludex/uvicorn#1596 and PR #2908 are about sending
trailers, not receiving them).

What it does:
- Size: a head (request line, header lines, blank line) over `max_bytes` is answered
  `431 Request Header Fields Too Large` (problem+json) and its connection closed. The bytes fed
  to the parser while a head is incomplete are counted as they arrive, so at most `max_bytes`
  plus a read or two (up to 256 KiB each) is ever held; a head that completes inside one read is
  measured from what the parser gives (url, header names and values, their separators).
- Time: the head must be complete within `timeout` seconds of its first byte, and a
  connection's first head within `timeout` of the connection's opening. Otherwise: 408 Request
  Timeout (problem+json) and close; a connection that has sent no request at all (nothing, or
  only the blank lines RFC 9112 section 2.2 lets a client send first) is closed silently, as
  uvicorn closes an idle keep-alive connection, because a 408 nobody asked for can be read by
  a client as the answer to the request it is about to send.
- Body: once a request's head is in, its body must arrive at `body_min_rate` bytes a second
  after a grace of `body_timeout` seconds (the deadline is start + body_timeout + bytes /
  body_min_rate: Apache's mod_reqtimeout `body=20,MinRate=500`, the same defaults). Time the
  server keeps the client waiting does not count: reading paused by flow control because the app
  has not yet taken what came, or a `100 Continue` not yet sent. A body too slow is never read
  further: the app's next read of it raises errors.BodyTooSlow (web.request_context), which
  web.problems answers 408 with `Connection: close`, logged and counted like any answer; an app
  that already answered has its connection closed after the answer.
- Trailers: a chunked body's trailer fields are thrown away (RFC 9110 section 6.5.1: a recipient
  must not merge them into the header section; the app gets none, as the ASGI spec has no place
  for them). The bytes between two pieces of body (chunk framing, trailer fields) are counted,
  and over `max_bytes` the request is refused as a slow body is, with errors.TrailersTooLarge:
  431.
- Malformed: a request httptools cannot parse is answered `400 Bad Request` as problem+json
  too, where uvicorn sends a text/plain 400 ("Invalid HTTP request received.") and closes at
  once (the client's RFC 9457 parser gets no problem, and a client still sending sees a reset).
- After a 431, 408 or 400 the server stops sending (FIN), reads and discards what the client
  still sends for up to LINGER_SECONDS, then closes. Closing at once with unread input makes the
  kernel reset the connection, and a client still sending its head sees "connection reset"
  instead of the answer (nginx's lingering_close, for the same reason): http.client sending a
  4 MiB header got ConnectionResetError 20 times in 20 when the server closed at once, the 431
  20 times in 20 with the linger.
- A head found too large only when it completes (inside one read) stops the parser by raising
  from its callback; uvicorn then also logs its own "Invalid HTTP request received." line.
- If a response to an earlier request on the connection is still on its way (pipelining), it
  is not interrupted: nothing more is read, and the connection closes once it is sent.

Cost, measured 2026-12-02 on this 2-core machine while other sessions loaded it (load average
1.5-6): the protocol alone, in-process (parse, request cycle, a trivial app's answer, keep-alive
timer), 29.6 -> 32.3 us per request (medians of 25 interleaved batches of 20,000), about 1% of
the ~300-400 us of CPU a served GET /hello takes. Served, `python app.py` (production settings)
on core 0, `wrk -t1 -c32 -d5s --latency /hello?name=x` on core 1, interleaved rounds, this
protocol (A) against uvicorn's plain "httptools" (B):
    set 1  A 2530 / 2876 / 2647 req/s, p99 48 / 23 / 18 ms, CPU 366 / 338 / 369 us a request
           B 3281 / 2947 / 2063 req/s, p99 15 / 21 / 33 ms, CPU 301 / 329 / 383 us a request
    set 2  A 1797 / 1605 / 1996 req/s, p99 65 / 128 / 136 ms, CPU 392 / 400 / 381 us a request
           B 1880 / 1877 / 1617 req/s, p99 68 / 83 / 352 ms, CPU 398 / 401 / 421 us a request
Means: set 1 A 2684 vs B 2764 req/s (-3%), set 2 A 1799 vs B 1791 (+0.5%): within the noise
(one server's own runs spread by 15-60%). Gain: a 64 MiB header is refused after ~3 MB has been
sent, in 5-15 ms, the server growing by ~0.2 MB (four at once: ~0.3 MB). The body's rate and the
trailers' bound add a counter and, for a body not in the head's read, one timer a request: see
bench/RESULTS.md (2026-12-06) for POST /messages served before and after.

Delete this module when uvicorn's httptools protocol gets a header size limit, a header timeout,
a body timeout and trailers kept apart of its own: set those in web.serving.uvicorn_options
instead, and drop the fingerprints in tests/patches/test_uvicorn.py. Each part can go alone
(on_header for trailers, _body_read/_body_check for the body, the rest for the head).
"""

from __future__ import annotations

import asyncio
import http
import json
from dataclasses import dataclass
from typing import Any, cast

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from errors import REFUSED_KEY, BodyTooSlow, TrailersTooLarge
from web.patches import one_write

# After a 431, 408 or 400, how long the client's remaining input is read and thrown away.
LINGER_SECONDS = 2.0
# What the request line adds to the url: the method's separator and " HTTP/1.1\r\n".
REQUEST_LINE_EXTRA = len(b"  HTTP/1.1\r\n")
# What a header line adds to its name and value (": ", "\r\n"), and what ends the head.
HEADER_LINE_EXTRA = len(b": \r\n")
HEAD_END = len(b"\r\n")


class HeadTooLarge(Exception):
    """Raised in a parser callback to stop parsing a head that is over the limit."""


@dataclass(frozen=True)
class RequestLimits:
    """uvicorn's `http` setting: a factory of connections with these limits.

    A value rather than a class made for each setting: gunicorn's Worker.CONFIG_KWARGS compares
    equal to web.serving.uvicorn_options', and uvicorn's reloader can pickle its Config.
    """

    max_bytes: int
    timeout: float
    # A body must arrive at `body_min_rate` bytes a second once `body_timeout` seconds are used
    # (Apache's mod_reqtimeout, `body=20,MinRate=500`).
    body_timeout: float = 20.0
    body_min_rate: float = 500.0
    one_write: bool = True  # a response's head and body in one write (web.patches.one_write)

    def __call__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> LimitedHttpToolsProtocol:
        return LimitedHttpToolsProtocol(config, server_state, app_state, _loop, limits=self)


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools connection, with a head size limit and a head timeout, a body's
    minimum rate, trailer fields thrown away, and problem+json for a head it cannot parse."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: RequestLimits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        # The head timeout while a head is due; after a refusal, the end of the linger.
        self._timer: asyncio.TimerHandle | None = None
        self._in_head = False  # between on_message_begin and on_headers_complete
        self._in_message = False  # between on_message_begin and on_message_complete
        # This read began between messages: every byte of it is the new head's.
        self._read_starts_a_head = False
        # The head began in this read after another message's bytes: not counted (see below).
        self._head_began_mid_read = False
        self._head_bytes = 0
        # The head lies within one read of at most max_bytes: it cannot be over the limit.
        self._head_fits = False
        self._read_bytes = 0
        self._refused = False
        # The body of the message being received: when its clock started (the loop's time),
        # the bytes of it received, and the timer that checks it keeps the minimum rate.
        self._body_started = 0.0
        self._body_bytes = 0
        self._body_timer: asyncio.TimerHandle | None = None
        # A check found the server keeping the client waiting: the allowance starts again.
        self._body_held = False
        # Bytes received since the last piece of body: chunk framing and trailer fields.
        self._between_body_bytes = 0
        self._read_had_body = False

    # The connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if self.limits.one_write:
            transport = one_write.wrap(transport, self.loop)
        super().connection_made(transport)
        self._timer = self.loop.call_later(self.limits.timeout, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        self._cancel_body_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # answered and closing: what the client still sends is thrown away
        in_body = self._in_message and not self._in_head
        self._read_starts_a_head = not self._in_message
        self._read_bytes = len(data)
        self._read_had_body = False
        super().data_received(data)
        if self._refused:
            return
        if self._in_message and not self._in_head:
            self._body_read(len(data) if in_body else 0)
        if self._in_head:
            self._head_fits = False
            # The whole read belonged to the head, unless the head began after the end of
            # another message in it (pipelining): that read is not counted, as how much of it
            # was the head's is unknown; the head's size is still checked when it completes.
            if self._head_began_mid_read:
                self._head_began_mid_read = False
            else:
                self._head_bytes += len(data)
                if self._head_bytes > self.limits.max_bytes:
                    self._refuse_too_large()
                    return
            if self._timer is None:
                # The head began in this read: it has `timeout` from now.
                self._timer = self.loop.call_later(self.limits.timeout, self._head_timed_out)
        elif self._timer is None and (self.cycle is None or self.cycle.response_complete):
            # Only blank lines between requests (they cancelled uvicorn's keep-alive timer).
            self._timer = self.loop.call_later(self.limits.timeout, self._head_timed_out)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to what httptools cannot parse, in place of its text/plain one."""
        if self._refused:
            return  # the parser stopped because we refused the head: that answer is sent
        self._refuse(400, "The request is not valid HTTP/1.1 (RFC 9112), so it was not read.")

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = self._in_message = True
        self._head_bytes = 0
        self._head_fits = self._read_bytes <= self.limits.max_bytes
        self._head_began_mid_read = not self._read_starts_a_head
        self._read_starts_a_head = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._in_head:
            super().on_header(name, value)
        # Else a trailer field of a chunked body: thrown away. uvicorn would append it to the
        # request's header fields (its scope's "headers", which the app reads later), so that a
        # trailer could add to or override what the head said (RFC 9110 section 6.5.1: a
        # recipient must not merge a trailer into the header section).

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_timer()
        if not self._head_fits and self._head_size() > self.limits.max_bytes:
            self._refuse_too_large()
            raise HeadTooLarge  # stops the parser; uvicorn then calls send_400_response
        super().on_headers_complete()
        self._body_started = self.loop.time()
        self._body_bytes = 0
        self._between_body_bytes = 0
        self._body_held = False

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        self._read_had_body = True
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_message = False
        self._cancel_body_timer()
        super().on_message_complete()

    def _head_size(self) -> int:
        """The complete head's size in bytes, as sent without optional whitespace."""
        size = REQUEST_LINE_EXTRA + len(self.parser.get_method()) + len(self.url) + HEAD_END
        for name, value in self.headers:
            size += len(name) + len(value) + HEADER_LINE_EXTRA
        return size

    # The body

    def _body_read(self, size: int) -> None:
        """After a read that left a message's body incomplete: `size` bytes of it, all read
        after the head. Counts what was not body (chunk framing, trailer fields) since the last
        piece of body, and starts the body's rate check."""
        if self._read_had_body:
            self._between_body_bytes = 0
        else:
            # httptools keeps a trailer field in memory until it is complete, as it does a
            # header field: what may be a trailer is counted as a head is.
            self._between_body_bytes += size
            if self._between_body_bytes > self.limits.max_bytes:
                self.logger.warning("Trailer fields over %d bytes: 431.", self.limits.max_bytes)
                self._refuse_body(TrailersTooLarge(self.limits.max_bytes))
                return
        if self._body_timer is None:
            self._body_timer = self.loop.call_later(self.limits.body_timeout, self._body_check)

    def _body_check(self) -> None:
        """The body's minimum rate: `body_timeout` seconds, plus a second for every
        `body_min_rate` bytes received. Time the server keeps the client waiting (reading paused
        by flow control while the app has not taken what came, a 100 Continue not yet sent)
        does not count: a check that finds it so looks again `body_timeout` later, and the
        first check after it ends gives the client a whole `body_timeout` again from then (the
        end itself happens inside uvicorn's RequestResponseCycle.receive, unseen)."""
        self._body_timer = None
        if self.transport.is_closing() or not self._in_message or self._in_head:
            return
        limits = self.limits
        now = self.loop.time()
        earned = self._body_bytes / limits.body_min_rate
        cycle = self.cycle
        held = self.flow.read_paused or (cycle is not None and cycle.waiting_for_100_continue)
        if held or self._body_held:
            self._body_held = held
            self._body_started = now - earned
            self._body_timer = self.loop.call_later(limits.body_timeout, self._body_check)
            return
        deadline = self._body_started + limits.body_timeout + earned
        if now < deadline:
            self._body_timer = self.loop.call_later(deadline - now, self._body_check)
            return
        self.logger.warning(
            "Request body slower than %g bytes a second: 408.", limits.body_min_rate
        )
        self._refuse_body(BodyTooSlow(limits.body_min_rate, limits.body_timeout))

    def _refuse_body(self, refusal: Exception) -> None:
        """Read nothing more of this message. An app still to answer gets `refusal` on its next
        read of the body, and answers it (with `Connection: close`); an answer under way ends
        the connection when sent; after an answer, the connection is closed."""
        self._refused = True
        self._cancel_body_timer()
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            self._linger()
            return
        cycle.keep_alive = False
        if not cycle.response_started:
            scope = cast("dict[str, Any]", cycle.scope)  # uvicorn types extensions' values
            scope.setdefault("extensions", {})[REFUSED_KEY] = refusal
            cycle.message_event.set()  # a read of the body under way returns now

    def _cancel_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    # Refusals

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _head_timed_out(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if not self._in_head:
            self.transport.close()  # no request begun: closed silently, as keep-alive does
            return
        self.logger.warning("Request head not received within %gs: 408.", self.limits.timeout)
        self._refuse(
            408,
            f"The request head did not arrive within {self.limits.timeout:g} seconds.",
        )

    def _refuse_too_large(self) -> None:
        self.logger.warning("Request head over %d bytes: 431.", self.limits.max_bytes)
        self._refuse(
            431,
            f"The request line and header fields are larger than {self.limits.max_bytes} "
            "bytes, the most this server reads.",
        )

    def _refuse(self, status: int, detail: str) -> None:
        """Answer `status` as problem+json and close; read and parse nothing more."""
        self._refused = True
        self._cancel_timer()
        if self.cycle is not None and not self.cycle.response_complete:
            # An earlier request's response is on its way: it ends the connection when sent.
            self.cycle.keep_alive = False
            return
        # web.problems renders every error the app raises; no app ever sees a head that is
        # incomplete or too large, so this is written here, in the same RFC 9457 shape.
        problem = {
            "type": "about:blank",
            "title": http.HTTPStatus(status).phrase,
            "status": status,
            "detail": detail,
        }
        body = json.dumps(problem).encode()
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/problem+json\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self._linger()

    def _linger(self) -> None:
        """Stop sending, read and throw away what the client still sends, then close."""
        self._cancel_timer()
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self._timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()
