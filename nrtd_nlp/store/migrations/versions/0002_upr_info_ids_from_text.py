"""UPR Info record ids from the text, not the row's position

A UPR Info export has no ids. They were ``session|State under review|recommending State|n``, n the row's
position within its group in the file, so a second file (or another export) holding other rows of a group
put one recommendation's text under another's id. They are now ``…|t<first 10 hex of the text's SHA-1>``
(``~2``, ``~3`` for the same text twice in a group), as ``ingest.readers.upr_info_id`` makes them. This
rewrites the stored ones, so re-importing a file after the upgrade adds nothing.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 22:30:00
"""
import hashlib
import re

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_OLD = re.compile(r"^(.*)\|(\d+)$")


def _new_prefix(prefix: str) -> str:
    session, to, frm = (prefix.split("|", 2) + ["", ""])[:3]
    if not frm.startswith("sha1:") and len(frm) > 150:
        frm = f"sha1:{hashlib.sha1(frm.encode()).hexdigest()[:16]}"
    return f"{session}|{to}|{frm}"


def upgrade() -> None:
    conn = op.get_bind()
    recs = sa.table("recommendations", sa.column("id", sa.Integer), sa.column("source", sa.String),
                    sa.column("external_id", sa.String), sa.column("text", sa.Text))
    rows = conn.execute(sa.select(recs.c.id, recs.c.external_id, recs.c.text)
                        .where(recs.c.source == "upr-info")).all()
    parsed = []
    for rid, ext, text in rows:
        m = _OLD.match(ext or "")
        if m:
            parsed.append((m.group(1), int(m.group(2)), rid, text or ""))
    seen: dict[tuple, int] = {}
    updates = []
    for prefix, _, rid, text in sorted(parsed):  # within a group in the old row order
        digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]
        key = (_new_prefix(prefix), digest)
        seen[key] = seen.get(key, 0) + 1
        updates.append({"rid": rid, "ext": f"{key[0]}|t{digest}" + (f"~{seen[key]}" if seen[key] > 1 else "")})
    if updates:
        conn.execute(recs.update().where(recs.c.id == sa.bindparam("rid")).values(external_id=sa.bindparam("ext")),
                     updates)


def downgrade() -> None:
    raise NotImplementedError("the row positions are not stored: restore a backup to go back")
