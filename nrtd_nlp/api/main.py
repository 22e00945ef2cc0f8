"""Application factory. ``nrtd serve`` runs ``create_app`` with uvicorn."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from .. import __version__
from ..errors import NrtdError


def _set_switch_interval(settings=None) -> None:
    """Shorten the interpreter's switch interval (``Settings.switch_interval_ms``). The tag batcher's thread
    (services/tag_batching.py) takes the tagging process's answer and sends the next batch; with Python's
    5 ms it waited for the event loop to let go of the lock, and the tagging process sat idle meanwhile.
    ``benchmarks/tag.py``, 10 clients, 2 cores: p50 41-46 ms at 5 ms, 35-43 ms at 0.5 ms."""
    import sys

    from ..config import get_settings

    ms = (settings or get_settings()).switch_interval_ms
    if ms > 0:
        sys.setswitchinterval(ms / 1000)


_HTTP_CODES = {400: ("bad_request", "body"), 404: ("not_found", "path"), 405: ("method_not_allowed", "method"),
               413: ("too_large", "body"), 415: ("unsupported_media_type", "body")}


def create_app(engine=None) -> FastAPI:
    """``engine`` is an already-built :class:`Engine` (tests); otherwise one is built at startup."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        _set_switch_interval(engine.settings if engine is not None else None)
        if engine is not None:
            app.state.engine = engine
        else:
            from ..services.context import Engine

            app.state.engine = Engine()
            from .warmup import start_tagger_warm_up, warm_up

            taggers = start_tagger_warm_up(app.state.engine)  # the tagging process loads meanwhile
            app.state.engine.index  # load the model and the index once, before the first request
            getattr(app.state.engine.embedder, "warm", lambda: None)()  # models load lazily elsewhere
            warm_up(app, app.state.engine, taggers)  # route contexts, SQL statements, pooled connections; gc.freeze()
        yield
        if engine is None:
            app.state.engine.close()

    app = FastAPI(title="nrtd-nlp", version=__version__, lifespan=lifespan,
                  description="Suggest, link and track UN human-rights recommendations. "
                              "Machine suggestions never overwrite human decisions.")

    @app.exception_handler(NrtdError)
    async def _nrtd_error(request: Request, exc: NrtdError):
        detail = exc.to_dict()
        if request.url.path.startswith("/ui/"):  # sign in, CSRF, role: the page script shows them translated
            from ..web.i18n.errors import error_message
            from .routes.pages import _ui_language

            detail["shown"] = error_message(_ui_language(request)[0], exc)
        return JSONResponse(status_code=exc.http_status, content={"detail": detail},
                            headers=getattr(exc, "headers", None))  # e.g. WWW-Authenticate on a 401

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        bad_json = [e for e in exc.errors() if e.get("type") == "json_invalid"]
        if bad_json:  # an unparsable body is the client's syntax error (400), not an invalid field
            where = next((str(p) for p in bad_json[0].get("loc", ())[1:]), "?")
            reason = (bad_json[0].get("ctx") or {}).get("error", "invalid JSON")
            return JSONResponse(status_code=400, content={"detail": {
                "code": "bad_request", "field": "body",
                "message": f"the body is not valid JSON ({reason} at character {where})"}})
        ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        whole = [e for e in exc.errors() if tuple(e.get("loc", ())) == ("body",)]
        if whole and ctype and "json" not in ctype:  # a JSON route sent a form or plain text
            return JSONResponse(status_code=415, content={"detail": {
                "code": "unsupported_media_type", "field": "body",
                "message": f"send the body as application/json, not {ctype}"}})
        errors = []
        for e in exc.errors():
            loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path")]
            errors.append({"field": ".".join(loc) or "body", "message": e.get("msg", "invalid")})
        first = errors[0] if errors else {"field": "body", "message": "invalid"}
        if request.url.path.startswith("/ui/") and "text/html" in (request.headers.get("accept") or ""):
            from .routes.pages import page_error  # a person's browser gets the page's error page, not JSON

            return page_error(request, f"{first['field']}: {first['message']}", 422)
        return JSONResponse(status_code=422, content={"detail": {
            "code": "invalid_input", "field": first["field"],
            "message": f"{first['field']}: {first['message']}", "errors": errors}})

    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        """Starlette's own errors (no such route, wrong method, an unparsable body) in the documented shape."""
        if isinstance(exc.detail, dict) or exc.status_code < 400:
            return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail}, headers=exc.headers)
        code, field = _HTTP_CODES.get(exc.status_code, ("http_error", "body"))
        message = str(exc.detail)
        if exc.status_code in (404, 405):
            message = f"{message}: {request.method} {request.url.path}"
        return JSONResponse(status_code=exc.status_code, headers=exc.headers,
                            content={"detail": {"code": code, "field": field, "message": message}})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        """A defect, not the caller's fault: logged with its traceback; the client gets the documented shape."""
        import logging

        logging.getLogger("nrtd_nlp.api").error("unexpected error on %s %s", request.method, request.url.path,
                                                exc_info=exc)
        message = f"internal error ({type(exc).__name__}); the server log has the details"
        return JSONResponse(status_code=500, content={"detail": {"code": "internal_error", "message": message}})

    from fastapi import Depends

    from .deps import require
    from .routes import health, imports, keys, links, recommendations

    # Access: one policy per router (deps.require). Only /healthz is open; add yours the same way.
    reader, curate, admin = (Depends(require("reader")), Depends(require("reader", write="reviewer")),
                             Depends(require("reader", write="admin")))
    app.include_router(health.router)
    from .routes import tags as _tags  # POST /v1/tag is a read: nothing is stored

    # first after /healthz: a request is matched against the routes in order, and /v1/tag is the path other
    # systems call at rates (matching it after every other router was ~11 % of the server process's samples under
    # benchmarks/tag.py, py-spy)
    app.include_router(_tags.router, prefix="/v1", dependencies=[Depends(require("reader"))])
    app.include_router(recommendations.router, prefix="/v1", dependencies=[admin])
    app.include_router(imports.router, prefix="/v1", dependencies=[Depends(require("admin"))])
    app.include_router(links.router, prefix="/v1", dependencies=[curate])
    app.include_router(keys.router, prefix="/v1", dependencies=[Depends(require("admin"))])
    from .routes import reviews as _reviews

    app.include_router(_reviews.router, prefix="/v1", dependencies=[curate])
    from .routes import export as _export

    app.include_router(_export.router, prefix="/v1", dependencies=[reader])
    from fastapi.staticfiles import StaticFiles

    from .routes import pages as _pages  # the review page: session cookie + CSRF (its own policy, pages.py)

    app.include_router(_pages.public)
    app.include_router(_pages.router)
    app.mount("/ui/static", StaticFiles(directory=str(_pages.WEB / "static")), name="static")
    from .routes import institutions as _institutions

    app.include_router(_institutions.router, prefix="/v1", dependencies=[admin])
    app.include_router(_institutions.rec_router, prefix="/v1", dependencies=[curate])
    from .routes import clusters as _clusters, jobs as _jobs

    app.include_router(_clusters.router, prefix="/v1", dependencies=[curate])
    app.include_router(_jobs.router, prefix="/v1", dependencies=[admin])
    app.include_router(_tags.admin_router, prefix="/v1", dependencies=[Depends(require("admin"))])
    return app
