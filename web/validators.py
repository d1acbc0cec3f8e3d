"""Connexion's request validation, with client mistakes kept 4xx and details kept short.

Registered through connexion's `validator_map`. Connexion's own details echo the client's input
and dump the schema; these name the field and the rule it breaks, never the value sent.

Parameters and bodies are checked by jsonschema (with connexion's OpenAPI extensions, such as
`nullable`), each schema's validator made once.
"""

from __future__ import annotations

import functools
import json
import sys
import typing as t
from collections.abc import Callable

from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem, UnsupportedMediaTypeProblem
from connexion.utils import is_null, is_nullable
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
from starlette.types import Scope, Send
from werkzeug.http import parse_options_header

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


class ParameterErrors(ParameterValidator):
    """Path, query, header and cookie parameters, with short details."""

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
        try:
            self._validator.validate(body)
        except ValidationError as error:
            raise BadRequestProblem(detail=describe(error, "The body")) from None
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
