"""Connexion's request validation, with client mistakes kept 4xx and details kept short.

Registered through connexion's `validator_map`. Connexion's own details echo the client's input
and dump the schema; these name the field and the rule it breaks, never the value sent.

Parameters and JSON bodies are first checked by jsonschema-rs (`quick`), ~30 times faster than
jsonschema: what it passes is valid; whatever it refuses, jsonschema (with connexion's OpenAPI
extensions, such as `nullable`) decides, and words the error. With the scalar query resolution
of `_Parameters`, GET /hello served 1.11x the req/s, p99 a little lower (one worker, 5
interleaved rounds, 2026-12-03: the README's performance section).
"""

from __future__ import annotations

import functools
import json
import sys
import typing as t
from collections.abc import Callable
from urllib.parse import parse_qsl

import jsonschema_rs
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem, TypeValidationError, UnsupportedMediaTypeProblem
from connexion.utils import coerce_type, is_null, is_nullable
from connexion.validators import (
    VALIDATOR_MAP,
    AbstractRequestBodyValidator,
    JSONRequestBodyValidator,
    JSONResponseBodyValidator,
    MultiPartFormDataValidator,
    ParameterValidator,
)
from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError
from starlette.datastructures import Headers
from starlette.formparsers import MultiPartException
from starlette.requests import cookie_parser
from starlette.types import Scope, Send
from werkzeug.http import parse_options_header

from web.patches import shadow

RULES_WITH_A_LIMIT = {
    "type", "format", "enum", "pattern", "minLength", "maxLength", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minItems", "maxItems",
    "minProperties", "maxProperties",
}  # fmt: skip


def describe(error: ValidationError, subject: str) -> str:
    """`subject` and the rule it breaks, with the rule's limit but never the offending value."""
    if error.validator in ("required", "additionalProperties"):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
        problem = error.message.replace("'", "`")
        return f"{subject}{where}: {problem}."
    path = ".".join(str(part) for part in error.path)
    field = f"{subject}'s field `{path}`" if path else subject
    if error.validator in RULES_WITH_A_LIMIT:
        return f"{field} breaks its `{error.validator}` rule ({error.validator_value})."
    return f"{field} does not match its schema (`{error.validator}`)."


_T = t.TypeVar("_T")
_PER_SCHEMA: dict[tuple[str, int], tuple[dict[str, t.Any], t.Any]] = {}


def _per_schema(kind: str, schema: dict[str, t.Any], build: Callable[[], _T]) -> _T:
    """What `build` makes of a schema of the spec, made once (on first use), not per request."""
    found = _PER_SCHEMA.get((kind, id(schema)))
    if found is None or found[0] is not schema:
        found = (schema, build())
        _PER_SCHEMA[(kind, id(schema))] = found  # keeps the schema alive, so its id stays its own
    made: _T = found[1]
    return made


def draft4(schema: dict[str, t.Any]) -> Draft4Validator:
    """jsonschema's Draft 4 validator of a schema of the spec."""
    return _per_schema(
        "draft4",
        schema,
        lambda: Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER),
    )


def quick(schema: dict[str, t.Any]) -> Callable[[t.Any], bool] | None:
    """jsonschema-rs's Draft 4 check of `schema`; None if it cannot compile it.

    It is never more lenient than jsonschema where this spec has been compared (tests and
    web.patches.shadow): it knows no `nullable`, and its `$` does not match before a final newline.
    So True means valid; False means "ask jsonschema", which then decides.
    """

    def build() -> Callable[[t.Any], bool] | None:
        # connexion hands body validators the spec's `components` too (for `$ref`s it has
        # already inlined), a structure that holds itself; a `$ref` left would fail to compile.
        own = {key: value for key, value in schema.items() if key != "components"}
        try:
            check: Callable[[t.Any], bool] = jsonschema_rs.Draft4Validator(own).is_valid
        except Exception:  # jsonschema alone validates what it cannot compile
            return None
        return check

    return _per_schema("quick", schema, build)


def passes(check: Callable[[t.Any], bool] | None, value: t.Any) -> bool:
    """Whether `check` (from `quick`) finds the value valid; False for any value it cannot take
    (an unpaired surrogate, say), which jsonschema then judges."""
    if check is None:
        return False
    try:
        return check(value)
    except Exception:  # jsonschema judges what it cannot take
        return False


SCALARS = ("integer", "number", "string", "boolean")


class _Parameters:
    """What connexion's ParameterValidator reads of a ConnexionRequest, read from the ASGI scope
    without building a Starlette request first: query parameters parsed as Starlette parses them,
    then resolved as connexion's URI parser resolves them, path parameters from the router,
    headers, cookies."""

    def __init__(
        self, scope: Scope, uri_parser: t.Any, scalars: dict[str, dict[str, t.Any]] | None
    ) -> None:
        self.scope = scope
        self.uri_parser = uri_parser
        self.scalars = scalars

    @functools.cached_property
    def query_params(self) -> dict[str, t.Any]:
        query: dict[str, list[str]] = {}
        text = self.scope["query_string"].decode("latin-1")
        if text:
            for name, value in parse_qsl(text, keep_blank_values=True):  # as starlette does
                query.setdefault(name, []).append(value)
        if self.scalars is None:
            return t.cast(dict[str, t.Any], self.uri_parser.resolve_query(query))
        # Only scalar parameters of the default style: the URI parser would take the last value
        # and coerce it to the parameter's type (leaving it as sent when it does not convert).
        resolved: dict[str, t.Any] = dict(query)
        for name, values in query.items():
            definition = self.scalars.get(name)
            if definition is not None:
                try:
                    resolved[name] = coerce_type(definition, values[-1], "parameter", name)
                except TypeValidationError:
                    resolved[name] = values[-1]
        if shadow.VERIFY:
            shadow.check("query parameters", resolved, self.uri_parser.resolve_query(query))
        return resolved

    @functools.cached_property
    def path_params(self) -> dict[str, t.Any]:
        resolved: dict[str, t.Any] = self.uri_parser.resolve_path(self.scope.get("path_params", {}))
        return resolved

    @functools.cached_property
    def headers(self) -> Headers:
        return Headers(scope=self.scope)

    @functools.cached_property
    def cookies(self) -> dict[str, str]:
        cookies: dict[str, str] = {}
        for header in self.headers.getlist("cookie"):  # as starlette's Request.cookies
            cookies.update(cookie_parser(header))
        return cookies


class ParameterErrors(ParameterValidator):
    """Path, query, header and cookie parameters, with short details."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        # Query parameters the fast resolution covers: all of them scalars of the default style,
        # none named like a deepObject key; otherwise (None) connexion's URI parser resolves.
        query = self.parameters.get("query", [])
        simple = all(
            p.get("schema", {}).get("type") in SCALARS
            and p.get("style", "form") == "form"
            and "[" not in p["name"]
            for p in query
        )
        self.scalars = {p["name"]: p for p in query} if simple else None
        self.checks = [
            (where, p, quick(p.get("schema", p)))
            for where in ("query", "path", "header", "cookie")
            for p in self.parameters.get(where, [])
        ]

    def validate(self, scope: Scope) -> None:
        request = _Parameters(scope, self.uri_parser, self.scalars)
        if self.strict_validation or not self._all_pass(request):
            self.validate_request(request)  # connexion's checks: the verdict, and the error
            return
        if shadow.VERIFY:
            try:
                self.validate_request(request)
            except BadRequestProblem as problem:
                shadow.check("parameter validation", "valid", problem.detail)

    def _all_pass(self, request: _Parameters) -> bool:
        """Whether every parameter is valid by `quick`, in the order and with the null and
        required rules of connexion's validate_request and validate_parameter."""
        for where, param, check in self.checks:
            name = param["name"]
            if where == "query":
                value = request.query_params.get(name)
            elif where == "path":
                value = request.path_params.get(name.replace("-", "_"))
            elif where == "header":
                value = request.headers.get(name)
            else:
                value = request.cookies.get(name)
            if is_nullable(param) and is_null(value):
                continue
            if value is None:
                if param.get("required"):
                    return False
                continue
            if not passes(check, value):
                return False
        return True

    @staticmethod
    def validate_parameter(
        parameter_type: str, value: t.Any, param: dict[str, t.Any], param_name: str | None = None
    ) -> str | None:
        if is_nullable(param) and is_null(value):
            return None
        if value is None:
            if param.get("required"):
                return f"The {parameter_type} parameter `{param['name']}` is required."
            return None
        schema = param.get("schema", param)
        try:
            draft4(schema).validate(value)
        except ValidationError as error:
            return describe(error, f"The {parameter_type} parameter `{param['name']}`")
        return None


class _Empty:
    """No body at all, as opposed to a JSON `null`."""


EMPTY = _Empty()


def _has_lone_surrogate(value: t.Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False


class JSONBodyValidator(JSONRequestBodyValidator):
    """JSON bodies: invalid UTF-8 (connexion#1860) and runaway nesting are 400s, a literal
    `null` is checked against the schema instead of being mistaken for a missing body, and an
    optional body may be absent."""

    @functools.cached_property
    def _validator(self) -> t.Any:  # connexion's property builds a new validator on every use
        return super()._validator

    async def _parse(self, stream: t.AsyncGenerator[bytes, None], scope: Scope) -> t.Any:
        raw = b"".join([chunk async for chunk in stream])
        if not raw:
            return EMPTY
        try:
            parsed = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise BadRequestProblem(detail="The JSON body is not valid UTF-8.") from None
        except json.JSONDecodeError as error:
            raise BadRequestProblem(detail=f"The body is not valid JSON: {error.msg}.") from None
        except RecursionError:
            raise BadRequestProblem(detail="The JSON body is nested too deeply.") from None
        except ValueError:  # json.loads refuses integers longer than Python converts (4300 digits)
            limit = sys.get_int_max_str_digits()
            raise BadRequestProblem(
                detail=f"The JSON body holds an integer of more than {limit} digits."
            ) from None
        # A `\ud800` escape decodes to a lone surrogate, which no database can store as text.
        if b"\\u" in raw and _has_lone_surrogate(parsed):
            raise BadRequestProblem(
                detail="The JSON body holds an unpaired surrogate (\\uD800-\\uDFFF)."
            )
        return parsed

    def _validate(self, body: t.Any) -> dict[str, t.Any] | None:
        if body is EMPTY:
            if not self._required:
                return None
            raise BadRequestProblem(detail="The request body must not be empty.")
        valid = passes(quick(self._schema), body)
        if valid and not shadow.VERIFY:
            return None
        try:
            self._validator.validate(body)
        except ValidationError as error:
            detail = describe(error, "The body")
            if valid:
                shadow.check("body validation", "valid", detail)
            raise BadRequestProblem(detail=detail) from None
        except RecursionError:
            raise BadRequestProblem(detail="The JSON body is nested too deeply.") from None
        return None


class MultiPartBodyValidator(MultiPartFormDataValidator):
    """multipart/form-data: a missing boundary or a broken part is a 400, not a 500."""

    @functools.cached_property
    def _validator(self) -> t.Any:  # connexion's property builds a new validator on every use
        return super()._validator

    async def _parse(self, stream: t.AsyncGenerator[bytes, None], scope: Scope) -> dict[str, t.Any]:
        try:
            parsed: dict[str, t.Any] = await super()._parse(stream, scope)
        except MultiPartException as error:
            raise BadRequestProblem(detail=f"The multipart body is malformed: {error}") from None
        return parsed

    def _validate(self, body: t.Any) -> None:
        if not isinstance(body, dict):
            raise BadRequestProblem(detail="The multipart body must hold named parts.")
        try:
            self._validator.validate(body)
        except ValidationError as error:
            raise BadRequestProblem(detail=describe(error, "The body")) from None


class TextBodyValidator(AbstractRequestBodyValidator):
    """text/plain bodies, which connexion leaves unchecked: UTF-8, and the spec's string rules."""

    async def _parse(self, stream: t.AsyncGenerator[bytes, None], scope: Scope) -> t.Any:
        raw = b"".join([chunk async for chunk in stream])
        # connexion's own charset parsing misses `; charset=...` written with a space.
        header = Headers(scope=scope).get("content-type", "")
        charset = parse_options_header(header)[1].get("charset", "utf-8")
        if charset.lower() not in ("utf-8", "utf8", "us-ascii", "ascii"):
            raise UnsupportedMediaTypeProblem(
                detail=f"text/plain; charset={charset} is not accepted; send UTF-8."
            )
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequestProblem(detail="The text/plain body is not valid UTF-8.") from None

    def _validate(self, body: t.Any) -> None:
        try:
            draft4(self._schema).validate(body)
        except ValidationError as error:
            raise BadRequestProblem(detail=describe(error, "The body")) from None


class BinaryBodyValidator(AbstractRequestBodyValidator):
    """application/octet-stream bodies: the spec's minLength and maxLength, counted in bytes."""

    async def _parse(self, stream: t.AsyncGenerator[bytes, None], scope: Scope) -> t.Any:
        return sum([len(chunk) async for chunk in stream])

    def _validate(self, body: t.Any) -> None:
        low, high = self._schema.get("minLength", 0), self._schema.get("maxLength")
        if body < low or (high is not None and body > high):
            limits = f"at least {low}" + ("" if high is None else f" and at most {high}")
            raise BadRequestProblem(detail=f"The body has {body} bytes; it must have {limits}.")


class TextResponseValidator(JSONResponseBodyValidator):
    """Response validation of text/plain: the text is a string, even when it reads as JSON.

    connexion's own json.loads the text first, so a stored text message `0` became the number 0
    and failed `type: string`.
    """

    def _parse(self, stream: t.Iterable[bytes]) -> str:
        return b"".join(stream).decode(self._encoding)

    def wrap_send(self, send: Send) -> Send:
        if self._scope.get("method") == "HEAD":
            return send
        wrapped: Send = super().wrap_send(send)
        return wrapped


class JSONResponseValidator(JSONResponseBodyValidator):
    """Response validation (tests turn it on) that knows a HEAD response has no body."""

    def wrap_send(self, send: Send) -> Send:
        if self._scope.get("method") == "HEAD":
            return send
        wrapped: Send = super().wrap_send(send)
        return wrapped


VALIDATORS = {
    **VALIDATOR_MAP,
    "parameter": ParameterErrors,
    "body": MediaTypeDict(
        {
            **VALIDATOR_MAP["body"],
            "*/*json": JSONBodyValidator,
            "multipart/form-data": MultiPartBodyValidator,
            "text/plain": TextBodyValidator,
            "application/octet-stream": BinaryBodyValidator,
        }
    ),
    "response": MediaTypeDict(
        {
            **VALIDATOR_MAP["response"],
            "*/*json": JSONResponseValidator,
            "text/plain": TextResponseValidator,
        }
    ),
}
