"""The implementation matrix: one row per recommendation with its cluster, themes, SDGs, institutions,
follow-up status and the reviewers' decisions, as XLSX or CSV.

Each value is the *effective* one: what people accepted or added wins over the machine's suggestions,
rejected suggestions are left out, and unreviewed suggestions are marked ``(suggested)`` and listed only
where the model asserted them (not the lower-ranked values shown to reviewers); a single-label task (the
action category) has one value. Filters are the list route's (services.search.Filters). Cells that a
spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR) are written as plain text.
Tag values are label ids (stable, for other systems) unless ``names`` asks for the labels' names in a
language ("es": "Derechos del niño", not "rights-of-the-child").
"""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from ..errors import InputError
from ..store.models import Cluster, ClusterMember, Link, Recommendation, Review
from .institution_views import export_values as institution_values
from .reviews import effective_values, slot_states
from .search import Filters
from .tags import SINGLE_LABEL

FORMATS = ("xlsx", "csv")
TASK_COLUMNS = (("themes", ("uhri_theme", "upr_issue")), ("sdg_goals", ("sdg_goal",)),
                ("sdg_targets", ("sdg_target",)), ("affected_groups", ("affected_group",)),
                ("action_category", ("action_category",)))
COLUMNS = ("id", "source", "external_id", "recommendation", "language", "mechanism", "document", "date", "state",
           "recommending_state", "cycle", "session", "paragraph", "response", "cluster",
           *(c for c, _ in TASK_COLUMNS), "institutions", "follow_up_status", "duplicate_of", "reviewed_by",
           "last_reviewed_at")
CHUNK = 500


def _fmt(vals: list[dict], name=None) -> str:
    shown = (lambda v: name(v["task"], v["value"])) if name else (lambda v: v["value"])
    return "; ".join(shown(v) if v["status"] != "suggested" else f"{shown(v)} (suggested)" for v in vals)


def _namer(engine, lang: str | None):
    """``(task, label id) -> name`` in ``lang`` (the label file's name, English where it has none), or None."""
    if not lang:
        return None
    import re

    from ..classify.labels import load_labels

    if not re.fullmatch(r"[a-z]{2,3}(?:-[A-Za-z]{2,4})?", lang):
        raise InputError(f"names must be a language code such as es or fr, not {lang!r}", field="names")
    lang = lang.split("-")[0]  # es-ES: the label files name labels per language, not per region
    if lang not in _NAME_LANGUAGES:  # would silently give English names
        raise InputError(f"labels have no names in {lang!r}; choose one of {', '.join(_NAME_LANGUAGES)}",
                         field="names")
    cache: dict[str, dict] = {}

    def name(task: str, value: str) -> str:
        if task not in cache:
            try:
                cache[task] = load_labels(task, engine.settings.home).by_id
            except Exception:  # noqa: BLE001 - a task without a label file (an old store's): its ids
                cache[task] = {}
        lab = cache[task].get(value)
        return lab.name(lang) if lab is not None else value

    return name


_NAME_LANGUAGES = ("en", "es", "fr", "ar", "ru", "zh", "pt")  # the label files' name_* columns


def _safe(v):
    if isinstance(v, str) and v and v[0] in "=+-@\t\r":  # "- 2+3" runs as a formula too
        return "'" + v
    return v


def _rows(engine, filters: Filters, names: str | None = None):
    name = _namer(engine, names)
    stmt = filters.apply(select(Recommendation)).order_by(Recommendation.id)
    with engine.db.session() as s:
        ids = list(s.scalars(filters.apply(select(Recommendation.id)).order_by(Recommendation.id)))
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i:i + CHUNK]
            recs = s.scalars(stmt.where(Recommendation.id.in_(chunk))).all()
            slots = slot_states(s, chunk)
            clusters: dict[int, tuple] = {}
            for m, c in s.execute(select(ClusterMember, Cluster).join(Cluster, Cluster.id == ClusterMember.cluster_id)
                                  .where(ClusterMember.rec_id.in_(chunk))):
                cur = clusters.get(m.rec_id)
                if cur is None or (m.by == "human" and cur[1] != "human"):
                    clusters[m.rec_id] = (c.label or c.id, m.by)
            inst = institution_values(s, chunk)  # each once, by name: decided, then the latest run's suggestions
            dup: dict[int, int] = {}
            for x in s.scalars(select(Link).where(Link.kind.in_(("duplicate", "follows_up")),
                                                  Link.status != "unlinked", Link.rec_b.in_(chunk))):
                dup.setdefault(x.rec_b, x.rec_a)
            who: dict[int, tuple[set, object]] = {}
            for r in s.scalars(select(Review).where(Review.rec_id.in_(chunk), Review.reverted_at.is_(None))):
                names, last = who.get(r.rec_id, (set(), None))
                names.add(r.reviewer)
                who[r.rec_id] = (names, max(last, r.at) if last else r.at)
            for r in recs:
                eff = effective_values(slots[r.id], asserted_only=True, single=SINGLE_LABEL)
                insts = inst.get(r.id, [])
                cl = clusters.get(r.id)
                names, last = who.get(r.id, (set(), None))
                row = {
                    "id": r.id, "source": r.source, "external_id": r.external_id, "recommendation": r.text,
                    "language": r.language, "mechanism": r.mechanism, "document": r.body,
                    "date": r.date.isoformat() if r.date else None, "state": r.country,
                    "recommending_state": r.recommending_state, "cycle": r.cycle, "session": r.session,
                    "paragraph": r.paragraph, "response": r.response,
                    "cluster": (cl[0] if cl[1] == "human" else f"{cl[0]} (suggested)") if cl else None,
                    "institutions": _fmt(insts) or None, "follow_up_status": r.follow_up_status,
                    "duplicate_of": dup.get(r.id), "reviewed_by": ", ".join(sorted(names)) or None,
                    "last_reviewed_at": last.isoformat(timespec="seconds") if last else None,
                }
                for col, tasks in TASK_COLUMNS:
                    row[col] = _fmt([dict(v, task=t) for t in tasks for v in eff.get(t, [])], name) or None
                yield row


def export_matrix(engine, fmt: str, *, filters: Filters | None = None, names: str | None = None) -> tuple[bytes, int]:
    """(file bytes, number of recommendations); ``names``: a language for label names instead of ids."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; choose xlsx or csv", field="format")
    filters = filters or Filters()
    _namer(engine, names)  # a bad code is refused before any row is read
    n = 0
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=COLUMNS)
        w.writeheader()
        for row in _rows(engine, filters, names):
            w.writerow({k: _safe(v) for k, v in row.items()})
            n += 1
        return buf.getvalue().encode("utf-8-sig"), n  # the BOM makes Excel read UTF-8
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("implementation matrix")
    ws.append(list(COLUMNS))
    for row in _rows(engine, filters, names):
        cells = []
        for k in COLUMNS:
            v = ILLEGAL_CHARACTERS_RE.sub("", row[k]) if isinstance(row[k], str) else row[k]
            c = WriteOnlyCell(ws, value=v)
            if isinstance(v, str):
                c.data_type = "s"  # never a formula, whatever the text starts with
            cells.append(c)
        ws.append(cells)
        n += 1
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), n


def check_out_path(out) -> None:
    """``out`` can be written: not a folder, its folder exists and is writable. One InputError otherwise."""
    import os
    from pathlib import Path

    out = Path(out)
    if out.is_dir():
        raise InputError(f"{out} is a folder; give a file name", field="out")
    if out.exists() and not out.is_file():
        return  # a device or a pipe (/dev/stdout): written in place by write_out
    folder = out.parent
    if not folder.exists():
        raise InputError(f"folder {folder} does not exist", field="out")
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder", field="out")
    if not os.access(folder, os.W_OK):
        raise InputError(f"folder {folder} is not writable", field="out")


def write_out(out, data: bytes) -> None:
    """Write through a temporary file in the same folder, then rename: a failure part-way never leaves
    a truncated matrix where an earlier one was. Devices and pipes are written in place."""
    import os
    import tempfile
    from pathlib import Path

    out = Path(out)
    check_out_path(out)
    if out.is_symlink():
        out = out.resolve()  # replace the file the link points to, not the link
    if out.exists() and not out.is_file():
        try:
            with open(out, "wb") as f:
                f.write(data)
        except OSError as e:
            raise InputError(f"cannot write {out}: {e.strerror or e}", field="out") from None
        return
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if out.exists():
            os.chmod(tmp, out.stat().st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, out)
        tmp = None
    except OSError as e:
        raise InputError(f"cannot write {out}: {e.strerror or e}", field="out") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
