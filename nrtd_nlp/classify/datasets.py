"""Annotated data for a task: which annotation of which source format holds its labels.

``load_annotated`` reads a file with the product's readers (so texts are normalised exactly as on
import) and returns the records with the task's label ids, resolved through the label file's
names and aliases. Annotations that match no label are counted, never silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..ingest.readers import read_file
from ..ingest.records import RawRecord
from .labels import LabelSet

# task -> {reader source: annotation key in RawRecord.extra}
ANNOTATIONS = {
    "upr_issue": {"upr-info": "upr_info_issues"},
    "action_category": {"upr-info": "upr_info_action"},
    "sdg_goal": {"uhri": "sdg_goals", "thematic-list": "sdgs"},
    "sdg_target": {"uhri": "sdg_targets"},
    "uhri_theme": {"thematic-list": "uhri_themes"},
    "affected_group": {"thematic-list": "affected_persons"},
}
_SDG_PREFIX = re.compile(r"^\s*(?:SDG\s*)?(\d{1,2}(?:\.[0-9a-z]{1,2})?)\b", re.I)


@dataclass
class Annotated:
    task: str
    texts: list[str]
    labels: list[list[str]]
    languages: list[str]
    records: list  # RawRecord, same order
    unknown: dict[str, int] = field(default_factory=dict)  # annotation -> count, matched no label
    skipped: int = 0  # records without any annotation for the task

    def __len__(self) -> int:
        return len(self.texts)


def _values(v) -> list[str]:
    if v is None:
        return []
    if isinstance(v, list):
        return [str(x) for x in v if str(x).strip()]
    return [p.strip() for p in str(v).split("|") if p.strip()]


def _resolve(labels: LabelSet, name: str) -> str | None:
    found = labels.resolve(name)
    if found is None:
        m = _SDG_PREFIX.match(name)  # "16 - PEACE, JUSTICE AND STRONG INSTITUTIONS", "SDG 5"
        if m:
            found = labels.resolve(m.group(1))
    return found


def load_annotated(path: Path | str, task: str, labels: LabelSet, *, column: str | None = None,
                   languages: list[str] | None = None, fmt: str | None = None,
                   encoding: str | None = None) -> Annotated:
    """Records of ``path`` that carry annotations for ``task``. ``column`` names the annotation column
    of a generic CSV/XLSX/JSON file (labels ``|``-joined, as ids, names or aliases)."""
    fmt_found, records = read_file(path, fmt=fmt, encoding=encoding)
    key = column or ANNOTATIONS.get(task, {}).get(records[0].source if records else "")
    if key is None:
        raise InputError(f"{Path(path).name}: this {fmt_found} file has no {task} annotations I know of; "
                         "name the column with --labels-column", field="labels_column")
    if column and not any(column in (r.extra or {}) for r in records):  # a typo, or no value in any row
        present = sorted({k for r in records[:200] for k in (r.extra or {}) if k != "language_score"})
        raise InputError(f"{Path(path).name}: no row has a value in column {column!r} (other columns: "
                         f"{', '.join(present[:12]) or 'none'})", field="labels_column")
    out = Annotated(task, [], [], [], [])
    for r in records:
        if languages and (r.language or "und") not in languages:
            continue
        raw = _values((r.extra or {}).get(key))
        if not raw:
            out.skipped += 1
            continue
        ids = []
        for name in raw:
            lid = _resolve(labels, name)
            if lid is None:
                out.unknown[name] = out.unknown.get(name, 0) + 1
            elif lid not in ids:
                ids.append(lid)
        if not ids:
            out.skipped += 1
            continue
        out.texts.append(r.text)
        out.labels.append(ids)
        out.languages.append(r.language or "und")
        out.records.append(r)
    if not out.texts:
        raise InputError(f"{Path(path).name}: no record has a {task} annotation that matches the label file "
                         f"({out.skipped} without; unknown: {', '.join(list(out.unknown)[:5]) or 'none'})",
                         field="labels_column")
    return out


def _parse_filter(spec: str, option: str) -> tuple[str, set[str]]:
    if "=" not in spec:
        raise InputError(f"bad filter {spec!r}; write FIELD=V1,V2 (e.g. session=17,18)", field=option)
    name, vals = spec.split("=", 1)
    name = name.strip()
    wanted = {v.strip() for v in vals.split(",") if v.strip()}
    if not name or not wanted:
        raise InputError(f"bad filter {spec!r}; write FIELD=V1,V2 (e.g. session=17,18)", field=option)
    return name, wanted


def _record_value(r, name: str):
    v = getattr(r, name, None)
    if v is None:
        v = (r.extra or {}).get(name)
    return v


def field_filter(spec: str | None, option: str = "filter"):
    """``"session=17,18"`` -> predicate on a RawRecord (attribute or annotation). None -> always False."""
    if not spec:
        return lambda r: False
    name, wanted = _parse_filter(spec, option)

    def pred(r) -> bool:
        return str(_record_value(r, name)) in wanted

    return pred


_NOT_FIELDS = {"text", "extra", "row"}


def record_fields(records) -> list[str]:
    """The names a filter can use on these records: RawRecord attributes and annotation keys."""
    from dataclasses import fields

    names = {f.name for f in fields(RawRecord)} - _NOT_FIELDS
    for r in records:
        names.update((r.extra or {}).keys())
    return sorted(names)


def check_filters(records, filters: dict[str, str | None], name: str) -> None:
    """Each ``--OPTION FIELD=V1,V2`` of ``filters`` names a field ``records`` (those read from file ``name``)
    have and selects at least one of them, and ``exclude``/``val`` do not select them all. One InputError
    naming the option."""
    given = {k: v for k, v in filters.items() if v}
    if not given:
        return
    for option, spec in given.items():
        _parse_filter(spec, option)
    known = record_fields(records)
    for option, spec in given.items():
        field, wanted = _parse_filter(spec, option)
        if field not in known:
            raise InputError(f"the records of {name} have no field {field!r} "
                             f"(fields: {', '.join(known)[:300]})", field=option)
        hits = sum(1 for r in records if str(_record_value(r, field)) in wanted)
        if hits == 0:
            seen = sorted({str(_record_value(r, field)) for r in records} - {"None"})
            raise InputError(f"--{option} {spec} selects no record of {name} "
                             f"({field} values: {', '.join(seen[:15]) or 'none'}{' …' if len(seen) > 15 else ''})",
                             field=option)
        if option in ("exclude", "val") and hits == len(records):
            raise InputError(f"--{option} {spec} selects every record of {name}: none is left to "
                             "train on", field=option)
