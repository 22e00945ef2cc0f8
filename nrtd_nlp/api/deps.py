"""Dependencies shared by the routes. Tests replace ``get_engine`` with ``dependency_overrides``.

Access control: every router is included in ``api/main.py`` with one policy dependency, e.g.::

    app.include_router(router, prefix="/v1", dependencies=[Depends(require("reader", write="reviewer"))])

``require(role)`` asks for ``role`` on every method; ``require(role, write=other)`` asks for ``role`` on
GET/HEAD/OPTIONS and ``other`` on the rest. POST routes that change nothing (``STATELESS_POSTS``, e.g. the
tag endpoint) count as reads. Routes read the caller with ``principal=Depends(get_principal)``.
Missing/unknown key: 401; role too low: 403. Only ``/healthz`` is open.

These dependencies are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in the thread pool,
one hand-off per dependency per request. They only read request state and the in-process key cache
(services/auth.py); a cache miss is one indexed read of ``api_keys``.
"""

from __future__ import annotations

from typing import Optional

from fastapi import Depends, Request

from ..services.auth import ROLES, Forbidden, Principal, authenticate, check_role
from ..services.context import Engine

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
STATELESS_POSTS = frozenset({"/v1/tag"})  # POSTs that compute and return, writing nothing


async def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def _presented_key(request: Request) -> Optional[str]:
    auth = request.headers.get("authorization")
    if auth and auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key")


async def get_principal(request: Request, engine: Engine = Depends(get_engine)) -> Principal:
    """The caller, from ``Authorization: Bearer <key>`` or ``X-API-Key`` (401 when absent or unknown)."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    p = authenticate(engine, _presented_key(request))
    request.state.principal = p
    return p


def is_read(request: Request) -> bool:
    if request.method in READ_METHODS:
        return True
    return request.url.path in STATELESS_POSTS


def require(role: str, write: Optional[str] = None):
    """A dependency that lets through callers with at least ``role`` (``write`` for changing methods)."""
    check_role(role)
    if write:
        check_role(write)

    async def _require(request: Request, principal: Principal = Depends(get_principal)) -> Principal:
        need = role if (write is None or is_read(request)) else write
        if not principal.can(need):
            raise Forbidden(f"this needs the {need} role; key {principal.name!r} is {principal.role}",
                            field="role")
        return principal

    _require.__name__ = f"require_{role}" + (f"_write_{write}" if write else "")
    _require.nrtd_roles = (role, write or role)  # read by tests that walk app.routes
    return _require


__all__ = ["ROLES", "get_engine", "get_principal", "require", "is_read", "STATELESS_POSTS"]
