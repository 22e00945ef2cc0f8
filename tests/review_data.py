"""Test data for the review work: the demo corpus plus fixture suggestions (agent ``fixture@1``).

The product path gets suggestions from the tagger; these rows only give the review code something to decide.
"""

from __future__ import annotations

import re

from sqlalchemy import select

SCRIPT_TEXT = 'Stop <script>window.__xss = 1</script> torture <b>now</b> & "always"'


def seed(engine, demo_csv, *, script: bool = True) -> list[int]:
    """Import the demo corpus (no embedding), add a hostile text, and 3 suggestions per recommendation."""
    from nrtd_nlp.services.imports import import_file
    from nrtd_nlp.store.models import Recommendation, Suggestion

    import_file(engine, demo_csv, source="demo", embed=False)
    with engine.db.session() as s:
        if script:
            s.add(Recommendation(source="test", external_id="xss", text=SCRIPT_TEXT, text_hash="xss",
                                 language="en", mechanism="UPR", country="Utopia", cycle="9", session="99"))
        s.flush()
        ids = s.scalars(select(Recommendation.id).order_by(Recommendation.id)).all()
        for rid in ids:
            for j, (task, value) in enumerate((("sdg_goal", "16"), ("sdg_goal", "5"), ("upr_issue", "Torture"))):
                score = round(0.35 + ((rid * 7 + j * 13) % 65) / 100, 2)  # 0.35 .. 0.99, varied
                s.add(Suggestion(rec_id=rid, task=task, value=value, score=score, agent="fixture@1"))
    return list(ids)


def login(c, engine, role="reviewer", name="rita") -> str:
    """Sign a TestClient in on the page with a new key of this role; returns the session's CSRF token."""
    from nrtd_nlp.services.auth import create_key

    key = create_key(engine, name, role)["key"]
    form = c.get("/ui/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    r = c.post("/ui/login", data={"key": key, "csrf": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    page = c.get("/ui/")
    return re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
