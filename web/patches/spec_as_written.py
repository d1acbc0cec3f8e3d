"""Patch: the spec document served as written, `$ref`s and all, and Swagger UI 5 at `/ui/`.

Replaces: connexion 3.3.0's `SwaggerUIMiddleware` (connexion/middleware/swagger_ui.py), through
connexion's public `middlewares` option (web.patches.middlewares), and in its per-API router
`SwaggerUIAPI._spec_for_prefix` and the private `_templates` it renders the page with.
Why: connexion serves `/openapi.json` with every `$ref` inlined, so clients generated from it
lose the named schemas of `components` (ArticlePage becomes an anonymous inline object); here
the raw document is served, and everything else (the UI, `/openapi.yaml`, the `servers` rewrite
behind a proxy) is connexion's own. Swagger UI's files come from the flask-swagger-ui package
(Swagger UI 5; connexion's own swagger-ui-bundle has 4.15), through connexion's
`swagger_ui_template_dir`; connexion renders the page from an `index.j2` in that same directory,
which the package lacks, so the page is ours: `web/swagger_ui/index.j2`, the one place Swagger
UI is configured. Requests for anything else go past without being routed: connexion's
middleware copies the scope and tries each of its UI and document routes on every API request.
Gain: what it serves (tests/contract/test_docs.py, tests/contract/test_sdk.py, the browser
test); the routing bypass (`ui_bypass`): turned off, POST /messages 1.13x and 0.82x the req/s,
GET /hello 0.82x and 0.87x in two runs of `make bench-patches` on 2026-12-02 (two all-on
servers differed by 14% and 4% on POST); kept with validation_once, for the reason given there.
Delete when: connexion serves the document as written (spec-first/connexion#2127, open; since
#2002 in 3.2.0 it clones the resolved spec) and ships Swagger UI 5.
tests/contract/test_docs.py and the browser test fail if connexion renames what this relies on.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from connexion.middleware.swagger_ui import SwaggerUIAPI, SwaggerUIMiddleware
from connexion.options import SwaggerUIOptions
from connexion.spec import Specification
from starlette.requests import Request
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Receive, Scope, Send

SWAGGER_UI_PAGE = Path(__file__).parent.parent / "swagger_ui"


def swagger_ui_options() -> SwaggerUIOptions:
    """Swagger UI at /ui/, its files from the installed flask-swagger-ui package."""
    return SwaggerUIOptions(
        swagger_ui_path="/ui",
        swagger_ui_template_dir=str(files("flask_swagger_ui") / "dist"),
    )


class _SpecAsWrittenAPI(SwaggerUIAPI):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # connexion looks for index.j2 among the files it serves; ours is kept apart from them.
        self._templates = Jinja2Templates(directory=SWAGGER_UI_PAGE)

    def _spec_for_prefix(self, request: Request) -> dict[str, Any]:
        base_path = self._base_path_for_prefix(request)
        raw: dict[str, Any] = self.specification.with_base_path(base_path).raw
        return raw


class SpecAsWritten(SwaggerUIMiddleware):
    """connexion's SwaggerUIMiddleware, serving the unresolved spec document, and routing only
    requests whose path names the UI or a spec document (all of them, with `route_all`)."""

    route_all = False  # True: every request through connexion's UI routing (make bench-patches)

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
        # What a path of the UI or a spec document contains (behind a proxy, after a prefix).
        self.served: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if (
            not self.route_all
            and scope["type"] == "http"
            and not any(part in path for part in self.served)
        ):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

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
        spec_path = api.options.openapi_spec_path
        self.served += [
            api.base_path + spec_path.rsplit(".", 1)[0] + ".",  # .json and .yaml
            api.base_path + api.options.swagger_ui_path.rstrip("/"),
        ]


class SpecAsWrittenRoutingAll(SpecAsWritten):
    """SpecAsWritten with every request routed as connexion does (PATCHES_OFF=ui_bypass)."""

    route_all = True
