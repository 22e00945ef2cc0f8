"""Dependencies shared by the routes. Tests replace ``get_engine`` with ``dependency_overrides``."""

from __future__ import annotations

from fastapi import Request

from ..services.context import Engine


def get_engine(request: Request) -> Engine:
    return request.app.state.engine
