"""Readers for the real formats (UPR Info export, UHRI multilingual export, OHCHR thematic list)
and generic CSV / XLSX / JSON with a column mapping. Each yields :class:`RawRecord`.

Readers validate before anything is written: a missing column or an undecodable file raises
:class:`InputError` naming the field, so an import either happens whole or not at all.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections import Counter
from pathlib import Path
from typing import Callable, Iterator

from ..errors import EncodingProblem, InputError, UnsupportedFormat
from .normalise import clean_whitespace, normalise_recommendation, split_heading
from .records import RawRecord

FORMATS = ("upr-info", "uhri", "thematic-list", "csv", "xlsx", "json")
UHRI_LANGS = ("en", "fr", "es", "ar", "ru", "zh")
TREATY_BODIES = ("CEDAW", "CRC", "CAT", "CCPR", "CESCR", "CERD", "CRPD", "CMW", "CED", "SPT")
GENERIC_FIELDS = ("id", "text", "mechanism", "body", "country", "recommending_state", "cycle", "session",
                  "date", "response", "paragraph", "language")
_ALIASES = {
    "text": ("text", "recommendation", "recommendation_text", "recommendations", "texto", "texte"),
    "id": ("id", "external_id", "recommendation_id", "ref", "reference"),
    "country": ("country", "state_under_review", "sur", "state"),
    "mechanism": ("mechanism", "body_type"),
    "recommending_state": ("recommending_state", "recommending_states", "from"),
    "date": ("date", "publication_date"),
}


# -- bytes -> text ------------------------------------------------------------
def decode_bytes(data: bytes, encoding: str | None = None, *, name: str = "file") -> str:
    if encoding:
        try:
            return data.decode(encoding)
        except LookupError:
            raise EncodingProblem(f"unknown encoding {encoding!r} (e.g. utf-8, latin-1, cp1252, utf-16)",
                                  field="encoding") from None
        except UnicodeDecodeError as e:
            raise EncodingProblem(f"cannot decode as {encoding}: {e}", field=name) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as e:
            raise EncodingProblem(f"invalid UTF-16: {e}", field=name) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise EncodingProblem(
            f"not valid UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start}); "
            "save it as UTF-8 or give the encoding (e.g. --encoding cp1252)", field=name
        ) from None


def read_csv_rows(text: str, *, name: str = "file") -> tuple[list[str], list[dict]]:
    if "\x00" in text:
        raise EncodingProblem("contains NUL bytes: not a text CSV (wrong format or encoding?)", field=name)
    sample = text[:20000]
    # Only the delimiter is sniffed: the Sniffer's guess of ``doublequote`` is unreliable (it said False
    # on the UPR Info export and split 42 rows with quoted quotes into shifted columns). RFC 4180 quoting.
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    # strict: an unterminated quote is an error, not every following row swallowed into one cell
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', doublequote=True,
                            strict=True)
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as e:
        raise InputError(f"malformed CSV in the header: {e}", field=name) from None
    if not header:
        raise InputError("the file is empty or has no header row", field=name)
    _unique_header(header, name)
    reader.fieldnames = header
    rows = []
    start = reader.line_num + 1  # the line the next row starts on (a quoted cell may span lines)
    try:
        for r in reader:
            start_of_row, start = start, reader.line_num + 1
            more = [v for v in (r.get(None) or []) if (v or "").strip()]
            if more:  # DictReader files surplus cells under None: the row's cells no longer match the header
                raise InputError(f"line {start_of_row}: {len(header) + len(r[None])} cells, the header has "
                                 f"{len(header)} (a separator inside a cell? quote the cell)", field=name)
            if any((v or "").strip() for v in r.values() if isinstance(v, str)):
                rows.append(r)
    except csv.Error as e:  # e.g. an unterminated quote: the reader stops at the end of the file, not where it opened
        raise InputError(f"malformed CSV in the row that starts on line {start}: {e}", field=name) from None
    return header, rows


def _unique_header(header: list[str], name: str) -> None:
    """A column named twice would lose one of them (the last one wins in a row's dict)."""
    seen: set[str] = set()
    for h in header:
        if h and h in seen:
            raise InputError(f"the column {h!r} appears twice in the header", field=name)
        seen.add(h)


def _require(header: list[str], cols: tuple[str, ...], fmt: str) -> None:
    missing = [c for c in cols if c not in header]
    if missing:
        raise InputError(f"missing required column(s) for {fmt}: {', '.join(missing)}", field=missing[0])


def _s(v) -> str | None:
    if v is None:
        return None
    v = clean_whitespace(str(v))
    return v or None


_DATE_TIME = re.compile(r"^(\S+?)[T ]\d{1,2}:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?$")


def _date(v, *, field: str = "date", row: int | None = None) -> dt.date | None:
    """A date cell: a date, YYYY-MM-DD (or DD/MM/YYYY, YYYY/MM/DD, DD.MM.YYYY, YYYYMMDD), a bare year, or an
    Excel serial day number (a date cell saved in General format). Anything else is an error, never a guess."""
    where = f"row {row}: " if row else ""
    if v in (None, ""):
        return None
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer():
        n = int(v)
        if 1000 <= n <= 9999:
            return dt.date(n, 1, 1)
        if 10_000 <= n <= 80_000:  # Excel's day count from 1899-12-30: 1927-05-18 .. 2119-01-12
            return dt.date(1899, 12, 30) + dt.timedelta(days=n)
        v = str(n)
    s = str(v).strip()
    if re.fullmatch(r"\d{4}", s):
        return dt.date(int(s), 1, 1)
    m = _DATE_TIME.match(s)  # a time of day after the date is dropped
    day = m.group(1) if m else s
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%Y/%m/%d", "%d.%m.%Y", "%Y%m%d"):
        try:
            return dt.datetime.strptime(day, fmt).date()
        except ValueError:
            continue
    raise InputError(f"{where}unreadable date {s!r} (use YYYY-MM-DD)", field=field)


def _split_multi(v: str | None) -> list[str]:
    return [p.strip() for p in (v or "").split("|") if p.strip()]


# -- the known formats -----------------------------------------------------------
def upr_info_id(key: tuple[str, str, str], text: str, seen: Counter) -> str:
    """``session|State under review|recommending State|t<text hash>``: the export has no ids, and a row's
    position is not one (another export, or a part of one, numbers a group's rows differently, which
    put one recommendation's text under another's id). The same text twice in a group gets ``~2``, ``~3``."""
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]
    seen[(key, digest)] += 1
    n = seen[(key, digest)]
    frm = key[2] if len(key[2]) <= 150 else f"sha1:{hashlib.sha1(key[2].encode()).hexdigest()[:16]}"
    return f"{key[0]}|{key[1]}|{frm}|t{digest}" + (f"~{n}" if n > 1 else "")


def read_upr_info(header: list[str], rows: list[dict]) -> Iterator[RawRecord]:
    _require(header, ("To", "Text", "From", "Session"), "upr-info")
    seen: Counter = Counter()
    for i, r in enumerate(rows, start=2):
        text, para, _suffix = normalise_recommendation(r.get("Text") or "", upr=True,
                                                     expected_state=r.get("From"))
        key = (r.get("Session", "").strip(), r.get("To", "").strip(), r.get("From", "").strip())
        ext = upr_info_id(key, text, seen)
        extra = {"upr_info_issues": _split_multi(r.get("Issue"))}
        if (r.get("Action") or "").strip():
            extra["upr_info_action"] = r["Action"].strip()
        for col in ("To-Rgrp", "To-Org", "From-Rgrp", "From-Org", "source_file"):
            if r.get(col):
                extra[col] = r[col]
        yield RawRecord(
            source="upr-info", external_id=ext, text=text, mechanism="UPR", country=_s(r.get("To")),
            recommending_state=_s(r.get("From")), cycle=_s(r.get("cycle")), session=_s(r.get("Session")),
            response=_s(r.get("Response")), paragraph=para, language="en", extra=extra, row=i,
        )


_SYMBOL_ISO3 = re.compile(r"^[A-Z]+/C/([A-Z]{3})/")


def read_uhri(header: list[str], rows: list[dict]) -> Iterator[RawRecord]:
    _require(header, ("annotationId", "symbol"), "uhri")
    langs = [lang for lang in UHRI_LANGS if lang in header]
    if not langs:
        raise InputError("no language column (en, fr, es, ar, ru, zh)", field="en")
    for i, r in enumerate(rows, start=2):
        aid = (r.get("annotationId") or "").strip()
        if not aid:
            raise InputError(f"row {i}: empty annotationId", field="annotationId")
        mech = _s(r.get("mechanism_from_symbol")) or _mechanism_from_symbol(r.get("symbol") or "")
        symbol = _s(r.get("symbol"))
        m = _SYMBOL_ISO3.match(symbol or "")
        extra = {k: _split_multi(r.get(k)) for k in
                 ("sdg_goals", "sdg_targets", "theme_ids", "affected_person_ids", "country_ids")}
        extra["number_in_document"] = _s(r.get("numberInDocument"))
        for lang in langs:
            raw = r.get(lang) or ""
            if not raw.strip():
                continue
            text, para, state = normalise_recommendation(raw, upr=mech == "UPR")
            rec_extra = dict(extra)
            if mech != "UPR" and para is None:
                heading, para, text = split_heading(text)
                if heading:
                    rec_extra["heading"] = heading
            yield RawRecord(
                source="uhri", external_id=f"{aid}:{lang}", text=text, mechanism=mech, body=symbol,
                country=m.group(1) if m else None, recommending_state=state,
                date=_date(r.get("publicationDate"), field="publicationDate", row=i), paragraph=para,
                language=lang, translation_group=f"uhri:{aid}", extra=rec_extra, row=i,
            )


def _mechanism_from_symbol(symbol: str) -> str | None:
    s = symbol.upper()
    if s.startswith("A/HRC/"):
        return "UPR"
    for tb in TREATY_BODIES:
        if s.startswith(tb + "/"):
            return tb
    return None


def read_thematic_list(header: list[str], rows: list[dict]) -> Iterator[RawRecord]:
    _require(header, ("recommendation", "state_under_review", "paragraph"), "thematic-list")
    for i, r in enumerate(rows, start=2):
        text, para, state = normalise_recommendation(r.get("recommendation") or "", upr=True,
                                                    expected_state=r.get("recommending_states"))
        para = _s(r.get("paragraph")) or para
        sur = _s(r.get("state_under_review"))
        extra = {"uhri_themes": _split_multi(r.get("themes")),
                 "uhri_primary_theme": _s(r.get("primary_theme")),
                 "sdgs": _split_multi(r.get("sdgs")),
                 "affected_persons": _split_multi(r.get("affected_persons")),
                 "position_source": _s(r.get("position_source"))}
        yield RawRecord(
            source="thematic-list", external_id=f"{sur}|{_s(r.get('cycle'))}|{para}", text=text,
            mechanism="UPR", country=sur, recommending_state=_s(r.get("recommending_states")) or state,
            cycle=_s(r.get("cycle")), session=_s(r.get("session")), response=_s(r.get("position")),
            paragraph=para, language="en", extra=extra, row=i,
        )


def parse_mapping(spec: str | dict | None) -> dict[str, str]:
    """``"text=Recommendation,country=State"`` -> ``{"text": "Recommendation", …}``."""
    if not spec:
        return {}
    if isinstance(spec, dict):
        pairs = spec.items()
    else:
        pairs = []
        for part in spec.split(","):
            if "=" not in part:
                raise InputError(f"bad mapping {part!r}: use field=column", field="map")
            k, v = part.split("=", 1)
            pairs.append((k.strip(), v.strip()))
    out = {}
    for k, v in pairs:
        if k not in GENERIC_FIELDS:
            raise InputError(f"unknown field {k!r} in mapping; fields: {', '.join(GENERIC_FIELDS)}", field="map")
        if k in out:
            raise InputError(f"the field {k!r} is mapped twice ({out[k]!r} and {v!r})", field="map")
        out[k] = v
    return out


def read_generic(header: list[str], rows: list[dict], *, mapping: dict[str, str], source: str,
                 name: str = "file", first_row: int = 2) -> Iterator[RawRecord]:
    """``first_row``: the number of the first row in messages (2 in a CSV under its header; 1 for JSON)."""
    cols = dict(mapping)
    low = {h.lower().strip(): h for h in header}
    for f, aliases in _ALIASES.items():
        if f not in cols:
            for a in aliases:
                if a in low:
                    cols[f] = low[a]
                    break
    for f in GENERIC_FIELDS:
        if f not in cols and f in low:
            cols[f] = low[f]
    if "text" not in cols:
        raise InputError(f"no text column; pass --map text=COLUMN (columns: {', '.join(header)})", field="text")
    for f, c in cols.items():
        if c not in header:
            raise InputError(f"mapped column {c!r} is not in the file", field=f)
    used = set(cols.values())
    for i, r in enumerate(rows, start=first_row):
        get = lambda f: r.get(cols[f]) if f in cols else None  # noqa: E731
        mech = _s(get("mechanism"))
        raw = get("text")
        if raw is not None and not isinstance(raw, str):  # a JSON number or true would become "nan", "True"
            raise InputError(f"row {i}: the text is a {type(raw).__name__}, not text", field="text")
        text, para, state = normalise_recommendation(raw or "", upr=(mech or "").upper() == "UPR")
        ext = _s(get("id"))
        if not ext:
            from .records import text_hash

            ext = "sha256:" + text_hash(text)[:32]
        extra = {h: r[h] for h in header if h not in used and r.get(h) not in (None, "")}
        yield RawRecord(
            source=source, external_id=ext, text=text, mechanism=mech, body=_s(get("body")),
            country=_s(get("country")), recommending_state=_s(get("recommending_state")) or state,
            cycle=_s(get("cycle")), session=_s(get("session")), date=_date(get("date"), row=i),
            response=_s(get("response")), paragraph=_s(get("paragraph")) or para,
            language=_s(get("language")), extra=_jsonable(extra), row=i,
        )


def _jsonable(d: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v) for k, v in d.items()}


def detect_csv_format(header: list[str]) -> str:
    h = set(header)
    if {"annotationId", "symbol"} <= h:
        return "uhri"
    if {"To", "Text", "From", "Session"} <= h:
        return "upr-info"
    if {"recommendation", "state_under_review", "paragraph"} <= h:
        return "thematic-list"
    return "csv"


def read_xlsx_rows(data: bytes, *, name: str = "file") -> tuple[list[str], list[dict]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds for a non-xlsx file
        raise InputError(f"not a readable XLSX workbook ({type(e).__name__})", field=name) from None
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    first = next(it, None)
    if not first:
        raise InputError("the first sheet is empty", field=name)
    header = [str(c).strip() if c is not None else f"col{i}" for i, c in enumerate(first)]
    _unique_header(header, name)
    rows = []
    for vals in it:
        if vals and any(v not in (None, "") for v in vals):
            rows.append({h: v for h, v in zip(header, vals)})
    return header, rows


def read_json_rows(text: str, *, name: str = "file") -> tuple[list[str], list[dict]]:
    def no_constant(c):
        raise InputError(f"{c} is not JSON (a number that is not a number)", field=name)

    try:
        data = json.loads(text, parse_constant=no_constant)
        json.dumps(data, ensure_ascii=False).encode("utf-8")  # a lone \ud800 escape is no character
    except UnicodeEncodeError:
        raise InputError("the JSON holds an unpaired surrogate escape (e.g. \\ud800): not a character",
                         field=name) from None
    except json.JSONDecodeError as e:
        raise InputError(f"malformed JSON at line {e.lineno} column {e.colno}: {e.msg}", field=name) from None
    except RecursionError:
        raise InputError("JSON nested too deeply to be a list of records", field=name) from None
    if isinstance(data, dict):
        for key in ("data", "recommendations", "items"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise InputError("JSON must be a list of objects (or {\"data\": [...]})", field=name)
    header: list[str] = []
    for i, x in enumerate(data):
        for k, v in x.items():
            if k not in header:
                header.append(k)
            if isinstance(v, (dict, list)) and k != "extra":  # would be stored as its Python repr
                raise InputError(f"record {i + 1}: {k} is a JSON {'object' if isinstance(v, dict) else 'list'}; "
                                 "give text or a number", field=k)
    return header, data


BUILT_IN_SOURCES = ("upr-info", "uhri", "thematic-list")  # the readers' own: their records have their fields
_SOURCE = re.compile(r"^[A-Za-z0-9_.:-]{1,40}$")


def check_source(source: str | None) -> str | None:
    """A generic file's source name (records are identified by source + id): trimmed, 1-40 safe characters.
    (A built-in reader's name is refused for a generic file in :func:`read_file`.)"""
    if source is None:
        return None
    source = source.strip()
    if not _SOURCE.match(source):
        raise InputError("source must be 1 to 40 letters, digits, '_', '.', ':' or '-'", field="source")
    return source


def read_file(path: Path | str, data: bytes | None = None, *, fmt: str | None = None,
              mapping: str | dict | None = None, encoding: str | None = None,
              source: str | None = None) -> tuple[str, list[RawRecord]]:
    """Read a whole file into records; returns (format, records). Nothing is written."""
    path = Path(path)
    name = path.name
    source = check_source(source)
    if data is None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise InputError(f"no such file: {path}", field="file") from None
        except OSError as e:
            raise InputError(f"cannot read {path}: {e.strerror}", field="file") from None
    if fmt and fmt not in FORMATS:
        raise UnsupportedFormat(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}", field="format")
    suffix = path.suffix.lower()
    if not fmt:
        if suffix in (".xlsx", ".xlsm"):
            fmt = "xlsx"
        elif suffix in (".json",):
            fmt = "json"
        elif suffix in (".csv", ".tsv", ".txt", ""):
            fmt = None  # decided from the header
        else:
            raise UnsupportedFormat(f"cannot tell the format of {name!r}; pass --format "
                                    f"({', '.join(FORMATS)})", field="format")
    if fmt == "xlsx":
        header, rows = read_xlsx_rows(data, name=name)
        inner = detect_csv_format(header)
    elif fmt == "json":
        header, rows = read_json_rows(decode_bytes(data, encoding, name=name), name=name)
        inner = "csv"
    else:
        if data[:4] == b"PK\x03\x04":
            raise UnsupportedFormat(f"{name!r} is a zip/XLSX file; pass --format xlsx", field="format")
        header, rows = read_csv_rows(decode_bytes(data, encoding, name=name), name=name)
        inner = fmt or detect_csv_format(header)
    if not rows:
        raise InputError("the file holds no records", field=name)
    if mapping and inner in ("upr-info", "uhri", "thematic-list"):
        inner = "csv"  # an explicit mapping wins over detection
    readers: dict[str, Callable[..., Iterator[RawRecord]]] = {
        "upr-info": read_upr_info, "uhri": read_uhri, "thematic-list": read_thematic_list,
    }
    if inner in readers:
        recs = list(readers[inner](header, rows))
        detected = inner
    else:
        if source in BUILT_IN_SOURCES:  # its records have fields a generic file would overwrite with nothing
            raise InputError(f"source {source!r} belongs to the {source} format's own records; name your own "
                             "(e.g. nhri-2025)", field="source")
        recs = list(read_generic(header, rows, mapping=parse_mapping(mapping), source=source or "csv", name=name,
                                 first_row=1 if fmt == "json" else 2))
        detected = fmt or "csv"
    if not recs:
        raise InputError("the file holds no records", field=name)
    return detected, recs
