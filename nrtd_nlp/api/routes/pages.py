"""The review page: server-rendered (Jinja2, autoescaped), a little plain JavaScript, nothing from a CDN.

Sign-in takes an API key and sets a signed session cookie (HttpOnly, SameSite=Strict, Secure over HTTPS).
Every form and every fetch carries the session's CSRF token, checked on each POST. Pages are served with a
Content-Security-Policy that allows only this server's own script and style: even if some text escaped the
templates' autoescaping, an inline ``<script>`` would not run.
"""

from __future__ import annotations

from importlib.resources import files
from types import SimpleNamespace
from typing import Optional
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ...errors import NrtdError
from ...services import auth
from ...services import reviews as rsvc
from ...web import i18n
from ...web.i18n.errors import error_message
from ..deps import get_engine, is_read
from ..schemas import MAX_INT, DbId

COOKIE = "nrtd_session"
LOGIN_COOKIE = "nrtd_login"
WEB = files("nrtd_nlp") / "web"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")

_env = Environment(loader=FileSystemLoader(str(WEB / "templates")),
                   autoescape=select_autoescape(["html"], default=True), trim_blocks=True, lstrip_blocks=True)


for _name in _env.list_templates(extensions=["html"]):
    _env.get_template(_name)  # compiled once at import, not on a reviewer's first page


def _secret(engine) -> bytes:
    if not hasattr(engine, "_nrtd_secret"):
        engine._nrtd_secret = auth.server_secret(engine.settings)
    return engine._nrtd_secret


def _ui_language(request: Request) -> tuple[str, bool]:
    """The page's language and whether ``?lang=`` chose it (then a cookie keeps it for the next pages)."""
    engine = getattr(request.app.state, "engine", None)
    default = getattr(getattr(engine, "settings", None), "ui_language", None)
    asked = i18n.supported(request.query_params.get("lang"))
    lang = i18n.choose(asked, request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"), default)
    return lang, asked is not None


def _switch_links(request: Request) -> dict[str, str]:
    """This page in each language: same path and query, ``lang`` replaced (relative, so no host is echoed)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    path = quote(request.url.path)
    return {code: path + "?" + urlencode([*params, ("lang", code)]) for code in i18n.languages()}


def render(name: str, request: Request, status: int = 200, **ctx) -> HTMLResponse:
    lang, asked = _ui_language(request)
    html = _env.get_template(name).render(request=request, **i18n.page_context(lang, _switch_links(request)), **ctx)
    resp = HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": CSP,
                                                           "X-Content-Type-Options": "nosniff",
                                                           "Cache-Control": "no-store", "Content-Language": lang})
    if asked:
        resp.set_cookie(i18n.COOKIE, lang, httponly=True, samesite="lax", path="/ui", max_age=365 * 86400,
                        secure=request.url.scheme == "https")
    return resp


def page_require(role: str, write: Optional[str] = None):
    """Like deps.require, for the page: the session cookie instead of a key; CSRF checked on every POST.

    A GET without a session redirects to the sign-in page; a POST gets 401 (403 for a low role or bad token).
    """
    auth.check_role(role)

    async def _page(request: Request, engine=Depends(get_engine)) -> auth.Principal:
        secret = _secret(engine)
        sess = auth.read_session(secret, request.cookies.get(COOKIE))
        p = auth.principal_by_id(engine, sess["k"]) if sess else None
        if p is None:
            if request.method == "GET":
                raise HTTPException(status_code=303, headers={"Location": "/ui/login"})
            raise auth.Unauthorized("sign in first", field="session", challenge=auth.PAGE_CHALLENGE)
        need = role if (write is None or is_read(request)) else write
        if not is_read(request):
            token = request.headers.get("x-csrf-token")
            if token is None and "form" in (request.headers.get("content-type") or ""):
                token = (await request.form()).get("csrf")
            auth.check_csrf(secret, sess, token if isinstance(token, str) else None)
        if not p.can(need):
            raise auth.Forbidden(f"this needs the {need} role; you are {p.role}", field="role")
        request.state.page = {"principal": p, "csrf": auth.csrf_token(secret, sess)}
        return p

    _page.nrtd_roles = (role, write or role)
    return _page


public = APIRouter(prefix="/ui", include_in_schema=False)
router = APIRouter(prefix="/ui", include_in_schema=False,
                   dependencies=[Depends(page_require("reader", write="reviewer"))])


def _ctx(request: Request) -> dict:
    return dict(request.state.page)


def _back(request: Request, fallback: str = "/ui/") -> str:
    ref = request.headers.get("referer") or ""
    base = str(request.base_url).rstrip("/")
    return ref if ref.startswith(base + "/ui/") else fallback


def _wants_json(request: Request) -> bool:
    return "application/json" in (request.headers.get("accept") or "")


def _done(request: Request, payload: dict, status: int = 200):
    if _wants_json(request):
        return JSONResponse(jsonable_encoder(payload), status_code=status)
    return RedirectResponse(_back(request), status_code=303)


def page_error(request: Request, message: str, status: int) -> HTMLResponse:
    """The error page for a request the framework refused (e.g. a bad query parameter), which may come
    before the session was read: the navigation shows only when it was."""
    page = getattr(request.state, "page", None) or {"principal": None, "csrf": ""}
    return render("error.html", request, status=status, error=SimpleNamespace(message=message), **page)


def _fail(request: Request, err: NrtdError):
    """A failed page action: the page shows the message in its language; a JSON answer keeps ``code``, ``field``
    and the English ``message`` (machine readers rely on them) and adds ``shown``, the text the script shows."""
    shown = error_message(_ui_language(request)[0], err)
    if _wants_json(request):
        return JSONResponse({"detail": {**err.to_dict(), "shown": shown}}, status_code=err.http_status)
    page_err = SimpleNamespace(message=shown, code=err.code, field=err.field)
    return render("error.html", request, status=err.http_status, error=page_err, **_ctx(request))


# --- sign in / out -----------------------------------------------------------------------------------------

@public.get("/login")
def login_form(request: Request, engine=Depends(get_engine), error: Optional[str] = None):
    secret = _secret(engine)
    pre = auth.read_session(secret, request.cookies.get(LOGIN_COOKIE))
    cookie = None
    if pre is None:
        cookie = auth.make_session(secret, 0)
        pre = auth.read_session(secret, cookie)
    resp = render("login.html", request, csrf=auth.csrf_token(secret, pre), error=error, principal=None)
    if cookie:
        resp.set_cookie(LOGIN_COOKIE, cookie, httponly=True, samesite="strict", path="/ui",
                        secure=request.url.scheme == "https", max_age=3600)
    return resp


@public.post("/login")
def login(request: Request, key: str = Form(..., max_length=200), csrf: str = Form("", max_length=200),
          engine=Depends(get_engine)):
    secret = _secret(engine)
    pre = auth.read_session(secret, request.cookies.get(LOGIN_COOKIE))
    try:
        if pre is None:
            raise auth.Forbidden("no sign-in form was issued", field="csrf")
        auth.check_csrf(secret, pre, csrf)
    except auth.Forbidden:
        return RedirectResponse("/ui/login?error=expired", status_code=303)
    try:
        p = auth.authenticate(engine, key)
    except auth.Unauthorized:
        return RedirectResponse("/ui/login?error=key", status_code=303)
    auth.audit_login(engine, p)
    resp = RedirectResponse("/ui/", status_code=303)
    resp.set_cookie(COOKIE, auth.make_session(secret, p.key_id), httponly=True, samesite="strict", path="/",
                    secure=request.url.scheme == "https", max_age=auth.SESSION_SECONDS)
    resp.delete_cookie(LOGIN_COOKIE, path="/ui")
    return resp


@router.post("/logout")
def logout():
    resp = RedirectResponse("/ui/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp


# --- pages ---------------------------------------------------------------------------------------------------

@router.get("/")
def home(request: Request, engine=Depends(get_engine)):
    from ...services.review_sessions import list_sessions

    return render("sessions.html", request, sessions=list_sessions(engine), **_ctx(request))


@router.get("/review")
def review(request: Request, session: str = Query(..., max_length=300), limit: int = Query(300, ge=1, le=1000),
           offset: int = Query(0, ge=0, le=MAX_INT), engine=Depends(get_engine)):
    from ...services.review_sessions import queue

    try:
        q = queue(engine, session, limit=limit, offset=offset)
    except NrtdError as e:
        return _fail(request, e)
    from ...services.follow_up import STATUSES

    return render("review.html", request, q=q, tasks=rsvc.TASKS, offset=offset, limit=limit, statuses=STATUSES,
                  **_ctx(request))


def _db_int(v: str) -> int:
    """An id typed into a form: a ValueError (the caller's 4xx) unless it fits the database's INTEGER."""
    n = int(v)
    if not -MAX_INT <= n <= MAX_INT:
        raise ValueError(v)
    return n


@router.post("/decide")
def decide(request: Request, decision: Optional[str] = Form(None), suggestion_id: Optional[DbId] = Form(None),
           rec_id: Optional[DbId] = Form(None), task: Optional[str] = Form(None), value: Optional[str] = Form(None),
           expected_review_id: Optional[str] = Form(None), act: Optional[str] = Form(None, max_length=80),
           engine=Depends(get_engine)):
    """One decision: the fields, or ``act`` = "<accept|reject> <suggestion id> [<expected review id>]" (the
    value of the button pressed on the page)."""
    p = request.state.page["principal"]
    try:
        if act:
            parts = act.split()
            if len(parts) not in (2, 3):
                raise ValueError
            decision, suggestion_id = parts[0], _db_int(parts[1])
            expected_review_id = parts[2] if len(parts) == 3 else None
    except ValueError:
        return _fail(request, rsvc.InputError("act is '<decision> <suggestion id> [<review id>]'", field="act"))
    if not decision:
        return _fail(request, rsvc.InputError("choose a decision", field="decision"))
    try:
        exp = _db_int(expected_review_id) if expected_review_id not in (None, "") else None
    except ValueError:
        return _fail(request, rsvc.InputError("expected_review_id must be a review id", field="expected_review_id"))
    try:
        r = rsvc.decide(engine, decision=decision, reviewer=p.name, suggestion_id=suggestion_id, rec_id=rec_id,
                        task=task, value=value, expected_review_id=exp)
    except NrtdError as e:
        return _fail(request, e)
    return _done(request, {"review": r}, 201)


@router.post("/follow-up")
def follow_up(request: Request, rec_id: DbId = Form(...), status: str = Form(..., max_length=40),
              expected: Optional[str] = Form(None, max_length=40), note: Optional[str] = Form(None, max_length=2000),
              engine=Depends(get_engine)):
    """A recommendation's follow-up status, from the review page (``expected``: the status the page showed)."""
    from ...services.follow_up import set_status

    try:
        res = set_status(engine, status, request.state.page["principal"].name, rec_ids=[rec_id],
                         expected=expected or None, note=note or None)
    except NrtdError as e:
        return _fail(request, e)
    return _done(request, res)


@router.post("/revert")
def revert(request: Request, review_ids: str = Form(..., max_length=60000), engine=Depends(get_engine)):
    p = request.state.page["principal"]
    try:
        ids = [_db_int(x) for x in review_ids.split(",") if x.strip()]
        res = rsvc.revert(engine, ids[0], p.name) if len(ids) == 1 else rsvc.revert_many(engine, ids, p.name)
    except (ValueError, IndexError):
        return _fail(request, rsvc.InputError("review_ids must be comma-separated numbers", field="review_ids"))
    except NrtdError as e:
        return _fail(request, e)
    return _done(request, res)


@router.post("/bulk")
def bulk(request: Request, decision: str = Form("accept"), min_score: float = Form(0.9),
         session: Optional[str] = Form(None), task: Optional[str] = Form(None), cluster_id: Optional[str] = Form(None),
         engine=Depends(get_engine)):
    p = request.state.page["principal"]
    try:
        if not (session or cluster_id):  # the page's bulk action is always within a session or a cluster
            raise rsvc.InputError("a bulk action from the page needs its session or cluster", field="session")
        res = rsvc.bulk_decide(engine, decision=decision, reviewer=p.name, min_score=min_score,
                               session=session or None, task=task or None, cluster_id=cluster_id or None)
    except NrtdError as e:
        return _fail(request, e)
    return _done(request, res, 201)


@router.get("/duplicates")
def duplicates(request: Request, kind: str = Query("duplicate", pattern="^(duplicate|follows_up|related)$"),
               offset: int = Query(0, ge=0, le=MAX_INT), engine=Depends(get_engine)):
    from ...services.links import list_links

    rows, total = list_links(engine, kind=kind, limit=50, offset=offset, translations=False)
    return render("duplicates.html", request, links=rows, total=total, kind=kind, offset=offset, **_ctx(request))


@router.post("/links/{link_id}")
def link_decision(request: Request, link_id: DbId, decision: str = Form(...),
                  expected_status: Optional[str] = Form(None), pair: Optional[str] = Form(None, max_length=60),
                  engine=Depends(get_engine)):
    from ...link.decisions import decide_link

    p = request.state.page["principal"]
    try:
        seen = tuple(_db_int(x) for x in pair.split(",")) if pair else None  # the two records the page showed
        if seen is not None and len(seen) != 2:
            raise ValueError(pair)
    except ValueError:
        return _fail(request, rsvc.InputError("pair is '<record id>,<record id>'", field="pair"))
    try:
        res = decide_link(engine, link_id, decision, p.name, expected_status=expected_status or None, pair=seen)
    except NrtdError as e:
        return _fail(request, e)
    return _done(request, res)


from .pages_clusters import register as _register_clusters  # noqa: E402

_register_clusters(router, render, _ctx, _fail, _done)

from .pages_groups import register as _register_groups  # noqa: E402

_register_groups(router, render, _ctx, _fail, _done)
