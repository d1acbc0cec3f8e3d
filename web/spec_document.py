"""Serve the spec document as written, `$ref`s and all.

Connexion's Swagger UI middleware serves `/openapi.json` with every `$ref` inlined, so clients
generated from it lose the named schemas of `components` (ArticlePage becomes an anonymous
inline object). This swaps its per-API router for one that serves the raw document; everything
else (the UI, `/openapi.yaml`, the `servers` rewrite behind a proxy) is connexion's own.
tests/test_docs.py fails if connexion stops calling `_spec_for_prefix`.
"""

from __future__ import annotations

from typing import Any

from connexion.middleware import ConnexionMiddleware
from connexion.middleware.swagger_ui import SwaggerUIAPI, SwaggerUIMiddleware
from connexion.spec import Specification
from starlette.requests import Request


class _SpecAsWrittenAPI(SwaggerUIAPI):  # type: ignore[misc]
    def _spec_for_prefix(self, request: Request) -> dict[str, Any]:
        base_path = self._base_path_for_prefix(request)
        raw: dict[str, Any] = self.specification.with_base_path(base_path).raw
        return raw


class SpecAsWritten(SwaggerUIMiddleware):  # type: ignore[misc]
    """connexion's SwaggerUIMiddleware, serving the unresolved spec document."""

    def add_api(
        self,
        specification: Specification,
        base_path: str | None = None,
        arguments: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        api = _SpecAsWrittenAPI(
            specification,
            base_path=base_path,
            arguments=arguments,
            default=self.default_fn,
            **kwargs,
        )
        self.router.mount(api.base_path, app=api.router)


def middlewares() -> list[type]:
    """Connexion's default middleware stack with SpecAsWritten in place; a new list each call,
    since connexion's add_middleware inserts into the list it was given."""
    return [
        SpecAsWritten if middleware is SwaggerUIMiddleware else middleware
        for middleware in ConnexionMiddleware.default_middlewares
    ]
