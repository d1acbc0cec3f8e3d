"""A handler's keyword arguments, worked out once per operation instead of on every request.

connexion's SyncParameterDecorator, on every request, wraps the request in its URI parser,
collects which parameters the operation defines and their defaults, looks up the body's name
and schema, and parses the form for uploaded files (even for a GET). `Plan` does the looking-up
once per operation; `Plan.bind` only reads the request's values and converts them with
connexion's own functions, so a handler gets what connexion would give it.

A plan covers what this service's spec uses: path and query parameters of scalar types, a JSON
or raw body, and the security context (`user`, `token_info`). For anything else (array, object
or deepObject parameters, a form body, `**kwargs`, `context_`) `bind` returns None and
web.patches.decorate_once lets connexion's decorator bind the request. With `shadow.VERIFY`
set (the test suite sets it), every request is bound both ways and must get the same arguments.

One difference is deliberate: connexion hands a handler any uploaded file whose field is named
like one of its arguments, whatever the spec says, so `GET /articles/1` with a multipart body
holding a file field `articleId` reached the handler with that file as the article's id (and
`limit` as a file was a 500). A plan binds only what the spec declares: form fields and files
only for an operation whose request body is a form, and a body an operation does not declare
is ignored (RFC 9110 gives content in a GET or DELETE no meaning).
"""

from __future__ import annotations

import copy
import typing as t
from collections.abc import Callable
from dataclasses import dataclass

import flask
from connexion.context import context
from connexion.decorators.parameter import pythonic, sanitized, unwrap_decorators
from connexion.exceptions import TypeValidationError
from connexion.http_facts import FORM_CONTENT_TYPES
from connexion.operations import OpenAPIOperation
from connexion.utils import (
    coerce_type,
    inspect_function_arguments,
    is_json_mimetype,
    is_null,
    is_nullable,
    make_type,
)

SCALARS = ("integer", "number", "string", "boolean")
_MISSING = object()


@dataclass(frozen=True)
class _Parameter:
    name: str  # as the spec names it
    argument: str  # the handler's keyword
    definition: dict[str, t.Any]
    default: t.Any = _MISSING

    def convert(self, value: t.Any) -> t.Any:
        """A value from the URL: connexion's URI parser coerces it, then its decorator casts it."""
        try:  # noqa: SIM105 (contextlib.suppress would add a context manager per value)
            value = coerce_type(self.definition, value, "parameter", self.name)
        except TypeValidationError:
            pass  # as connexion's parser: the value stays as it came (validation saw to it)
        return self.cast(value)

    def cast(self, value: t.Any) -> t.Any:
        """connexion's decorator's cast (`_get_val_from_param`) for a scalar parameter."""
        schema = self.definition.get("schema", self.definition)
        if is_nullable(schema) and is_null(value):
            return None
        return make_type(value, schema["type"], schema.get("format"))


@dataclass(frozen=True)
class _Body:
    argument: str
    operation: t.Any  # connexion's operation, for the schema of each media type

    def value(self, request: flask.Request, schemas: dict[str, dict[str, t.Any]]) -> t.Any:
        """connexion's WSGIRequest.get_body and _get_body_argument_json, for non-form bodies."""
        content_type = request.content_type or "application/octet-stream"
        if is_json_mimetype(content_type):
            body = request.get_json(silent=True)
        else:
            body = request.get_data() or None
        mimetype = request.mimetype
        schema = schemas.get(mimetype)
        if schema is None:
            schema = schemas[mimetype] = self.operation.body_schema(mimetype)
        if is_nullable(schema) and is_null(body):
            return None
        if body is None:
            return copy.deepcopy(schema.get("default", {}))
        return body


class Plan:
    """What one operation's handler takes, and from where."""

    def __init__(
        self,
        arguments: list[str],
        path: list[_Parameter],
        query: list[_Parameter],
        body: _Body | None,
        form: bool = False,
    ) -> None:
        self.arguments = arguments
        self.path = path
        self.query = query
        self.body = body
        self.form = form  # whether the operation's request body may be a form
        self._body_schemas: dict[str, dict[str, t.Any]] = {}

    @classmethod
    def make(
        cls, operation: t.Any, function: Callable[..., t.Any], *, pythonic_params: bool
    ) -> Plan | None:
        """The plan for `function` serving `operation`, or None where connexion must bind."""
        arguments, has_kwargs = inspect_function_arguments(unwrap_decorators(function))
        if (
            not isinstance(operation, OpenAPIOperation)
            or has_kwargs
            or "context_" in arguments
            or operation.method.upper() == "TRACE"
        ):
            return None
        once = pythonic if pythonic_params else sanitized

        def sanitize(name: str) -> str:  # connexion sanitises names twice; so do we
            return str(once(once(name)))

        path, query = [], []
        for definition in operation.parameters:
            where, name = definition["in"], definition["name"]
            if where not in ("path", "query"):
                continue  # connexion passes no header or cookie parameters either
            schema = definition.get("schema", {})
            if schema.get("type") not in SCALARS or not name.isidentifier():
                return None
            parameter = _Parameter(name, sanitize(name), definition)
            if where == "path":
                path.append(parameter)
            elif parameter.argument in arguments:
                default = definition.get("default", schema.get("default", _MISSING))
                query.append(_Parameter(name, parameter.argument, definition, default))
        body = None
        body_argument = sanitize(operation.body_name(None))
        if operation.is_request_body_defined and body_argument in arguments:
            body = _Body(body_argument, operation)
        media_types = operation.request_body.get("content", {})
        form = any(media_type.split(";")[0] in FORM_CONTENT_TYPES for media_type in media_types)
        return cls(arguments, path, query, body, form)

    def ignores_the_form_of(self, request: flask.Request) -> bool:
        """Whether the request carries a form the operation does not declare, whose files
        connexion would still hand the handler (and a plan does not)."""
        return not self.form and request.mimetype in FORM_CONTENT_TYPES

    def bind(self, request: flask.Request) -> dict[str, t.Any] | None:
        """The handler's keyword arguments for this request, or None where connexion must bind."""
        if self.form and self.arguments and request.mimetype in FORM_CONTENT_TYPES:
            return None  # form fields and files may become arguments: connexion's form handling
        kwargs: dict[str, t.Any] = {}
        view_args = request.view_args or {}
        for parameter in self.path:
            if parameter.name in view_args:
                kwargs[parameter.argument] = parameter.convert(view_args[parameter.name])
        if self.query:
            args = request.args
            for parameter in self.query:
                values = args.getlist(parameter.name)
                if values:
                    kwargs[parameter.argument] = parameter.convert(values[-1])
                elif parameter.default is not _MISSING:
                    default = copy.deepcopy(parameter.default)
                    kwargs[parameter.argument] = parameter.cast(default)
        if self.body is not None:
            kwargs[self.body.argument] = self.body.value(request, self._body_schemas)
        for key, value in context.items():
            if key in self.arguments:
                kwargs[key] = value
        return kwargs
