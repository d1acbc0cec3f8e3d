"""Patch: each handler decorated once, its arguments bound by a plan made once per operation.

Replaces: `FlaskOperation.fn` of connexion 3.3.0 (connexion/apps/flask.py), which builds a new
`FlaskDecorator` and re-decorates the handler (with an `inspect.signature` of it) on every call,
while `FlaskDecorator.__call__` decorates again inside its wrapper; and, for the operations a
web.patches.arguments.Plan covers, `SyncParameterDecorator`'s per-request binding. Installed on
one app: its Flask view functions are swapped for DecoratedOnce operations (not process-wide).
Why: the per-call decoration and binding cost every request (no upstream issue yet: connexion's
tracker searched, 2026-12-02; `inspect.signature` itself is slow, python/cpython#150816). A plan
also binds only what the spec declares: connexion hands a handler any uploaded file whose form
field is named like one of its arguments, in any operation, since spec-first/connexion#753 (for
#750), so `GET /articles/1` with a file field `articleId` looked the file up as the id (see
web.patches.arguments).
Gain (`make bench-patches`, served, one worker, 2026-12-02, turned off against all on; two
all-on servers differed by up to 14%): in three runs GET /hello 1.7x, 1.15x and 1.5x the req/s,
GET /articles/{id} 1.1x, 1.2x and 1.45x, POST /messages 1.15x, 1.1x and 1.35x. Of that, the
plans (`plans` off: connexion binds every request, the view still decorated once) are 1.5x and
1.65x on /hello in two runs of three (inside the noise in the other and on the database
endpoints).
Delete when: connexion decorates once per operation and binds only declared parameters:
rerun `make bench-patches` and tests/patches/test_connexion.py.
Upstream code relied on: tests/patches/test_connexion.py fingerprints it.
"""

from __future__ import annotations

import asyncio
import functools
import typing as t
from collections.abc import Callable

import flask
from connexion.apps.flask import FlaskASGIApp, FlaskOperation
from connexion.context import operation as current_operation
from connexion.decorators import FlaskDecorator
from connexion.decorators import parameter as connexion_parameter
from connexion.decorators.parameter import SyncParameterDecorator
from connexion.uri_parsing import AbstractURIParser

from web.patches import shadow
from web.patches.arguments import Plan

UPSTREAM: dict[str, t.Any] = {
    "connexion.apps.flask.FlaskOperation.fn": FlaskOperation.fn.fget,
    "connexion.apps.flask.FlaskOperation.__init__": FlaskOperation.__init__,
    "connexion.apps.flask.FlaskASGIApp.add_api": FlaskASGIApp.add_api,
    "connexion.decorators.main.WSGIDecorator.__call__": FlaskDecorator.__call__,
    "connexion.decorators.parameter.SyncParameterDecorator.__call__": (
        SyncParameterDecorator.__call__
    ),
    "connexion.decorators.parameter.prep_kwargs": connexion_parameter.prep_kwargs,
    "connexion.decorators.parameter.get_arguments": connexion_parameter.get_arguments,
    "connexion.decorators.parameter._get_query_arguments": (
        connexion_parameter._get_query_arguments
    ),
    "connexion.decorators.parameter._get_body_argument": connexion_parameter._get_body_argument,
    "connexion.uri_parsing.AbstractURIParser.resolve_params": AbstractURIParser.resolve_params,
}


class _DecoratedOnce(FlaskDecorator):
    """connexion's FlaskDecorator, decorating once; arguments from a plan where one applies."""

    use_plans = True

    def __call__(self, function: Callable[..., t.Any]) -> Callable[..., t.Any]:
        decorated = self.decorate(function)  # connexion's binding, for what a plan does not cover
        response_decorator = self._response_decorator_cls(
            framework=self.framework, jsonifier=self.jsonifier
        )
        # connexion asks on every call whether the handler is a coroutine function; ours never are.
        synchronous = not asyncio.iscoroutinefunction(function)
        direct = response_decorator(
            function if synchronous else self._sync_async_decorator(function)
        )
        parsers: list[t.Any] = []
        plans: list[Plan | None] = []

        def connexion_request() -> t.Any:
            if not parsers:  # connexion builds a URI parser per request; it depends on the route
                parsers.append(self.uri_parser)
            return self.framework.get_request(uri_parser=parsers[0])

        @functools.wraps(function)
        def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            if not plans:
                operation = current_operation._get_current_object()
                made = Plan.make(operation, function, pythonic_params=self.pythonic_params)
                plans.append(made if self.use_plans else None)
            plan = plans[0]
            request = flask.request._get_current_object()  # type: ignore[attr-defined]
            bound = None if plan is None else plan.bind(request)
            if plan is None or bound is None:
                return decorated(connexion_request())
            if shadow.VERIFY and not plan.ignores_the_form_of(request):  # (see arguments)
                theirs = self._connexion_arguments(function, connexion_request())
                shadow.check(f"arguments of {function.__qualname__}", bound, theirs)
            return direct(**bound)

        wrapper.plans = plans  # type: ignore[attr-defined]
        return wrapper

    def _connexion_arguments(self, function: Callable[..., t.Any], request: t.Any) -> t.Any:
        @functools.wraps(function)
        def arguments(**kwargs: t.Any) -> dict[str, t.Any]:
            return kwargs

        decorator = SyncParameterDecorator(
            framework=self.framework, pythonic_params=self.pythonic_params
        )
        return decorator(arguments)(request)


class DecoratedOnce(FlaskOperation):
    """connexion's FlaskOperation, its handler decorated on first use and kept."""

    use_plans = True

    @functools.cached_property
    def fn(self) -> Callable[..., t.Any]:
        decorator = _DecoratedOnce(pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)
        decorator.use_plans = self.use_plans
        decorated: Callable[..., t.Any] = decorator(self._fn)
        return decorated


def install(app: t.Any, *, plans: bool = True) -> None:
    """Make this connexion FlaskApp's operations DecoratedOnce: connexion adds an API to its
    Flask app when it builds its middleware stack (at start), through `FlaskASGIApp.add_api`;
    the Flask view functions that call then registers are swapped."""
    middleware_app = app._middleware_app
    add_api = middleware_app.add_api

    def add_api_decorated_once(*args: t.Any, **kwargs: t.Any) -> t.Any:
        api = add_api(*args, **kwargs)
        views = middleware_app.app.view_functions
        for endpoint, view in list(views.items()):
            if isinstance(view, FlaskOperation) and not isinstance(view, DecoratedOnce):
                once = DecoratedOnce(
                    fn=view._fn,
                    jsonifier=view.jsonifier,
                    operation_id=view.operation_id,
                    pythonic_params=view.pythonic_params,
                )
                once.use_plans = plans  # False: connexion binds every request (bench-patches)
                views[endpoint] = once
        return api

    middleware_app.add_api = add_api_decorated_once
