"""The duplicate groups view of the review page: groups with their canonical member, one group's members and
links, and the people's decisions of ``nrtd_nlp.link.decisions`` (choose the canonical member, split members off)."""

from __future__ import annotations

from typing import Optional

from fastapi import Depends, Form, Query, Request

from ...errors import NrtdError
from ...link.decisions import set_canonical, split_group
from ...services.links import group_detail, list_groups
from ..deps import get_engine
from ..schemas import MAX_INT, DbId

PAGE = 50  # groups a page, as the duplicates list


def register(router, render, ctx, fail, done) -> None:
    @router.get("/groups")
    def groups(request: Request, offset: int = Query(0, ge=0, le=MAX_INT), engine=Depends(get_engine)):
        rows, total = list_groups(engine, limit=PAGE, offset=offset)
        return render("groups.html", request, groups=rows, total=total, offset=offset, page=PAGE, **ctx(request))

    @router.get("/groups/{group_id}")
    def group(request: Request, group_id: str, engine=Depends(get_engine)):
        try:
            g = group_detail(engine, group_id)
        except NrtdError as e:
            return fail(request, e)
        from ...services.follow_up import STATUSES

        return render("group.html", request, g=g, statuses=STATUSES, **ctx(request))

    @router.post("/groups/{group_id}/canonical")
    def group_canonical(request: Request, group_id: str, rec_id: DbId = Form(...), engine=Depends(get_engine)):
        p = request.state.page["principal"]
        try:
            res = set_canonical(engine, group_id, rec_id, p.name)
        except NrtdError as e:
            return fail(request, e)
        return done(request, res)

    @router.post("/groups/{group_id}/split")
    def group_split(request: Request, group_id: str, rec_ids: list[DbId] = Form([]), engine=Depends(get_engine)):
        p = request.state.page["principal"]
        try:
            res = split_group(engine, group_id, rec_ids, p.name)
        except NrtdError as e:
            return fail(request, e)
        return done(request, res)

    @router.post("/groups/{group_id}/follow-up")
    def group_follow_up(request: Request, group_id: str, status: str = Form(..., max_length=40),
                        note: Optional[str] = Form(None, max_length=2000), engine=Depends(get_engine)):
        from ...services.follow_up import set_status

        p = request.state.page["principal"]
        try:
            res = set_status(engine, status, p.name, group_id=group_id, note=note or None)
        except NrtdError as e:
            return fail(request, e)
        return done(request, res)
