"""Label sets as data: one CSV per task in ``nrtd_nlp/corpora/labels/`` (schema in its README).

A country adds its own categories without code: ``$NRTD_HOME/labels/<task>.csv`` with the same
columns. Rows whose id exists override the shipped row; new ids are added; a file for a task that is
not shipped is a new task (for example ``indigenous_rights.csv``).
"""

from __future__ import annotations

import csv
import functools
import io
import re
import unicodedata
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from ..errors import InputError, NotFound

LANGS = ("en", "es", "fr", "ar", "ru", "zh", "pt")
REQUIRED = ("id", "name_en")
_TASK_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


def norm_key(s: str) -> str:
    """Case-, accent- and punctuation-insensitive key for matching names and aliases."""
    s = unicodedata.normalize("NFKC", s).casefold().replace("’", "'").replace("&", " and ")
    return re.sub(r"[\W_]+", " ", s).strip()


@dataclass
class Label:
    id: str
    names: dict[str, str]
    parent: str | None = None
    description: str = ""
    keywords: dict[str, list[str]] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    source: str = ""

    def name(self, lang: str | None = None) -> str:
        return self.names.get(lang or "en") or self.names["en"]

    def prototype_texts(self) -> list[str]:
        """Texts that describe the label, one or more per language, for a zero-shot prototype."""
        out = []
        for lang in LANGS:
            nm = self.names.get(lang)
            kws = self.keywords.get(lang) or []
            if nm:
                out.append(nm)
            if kws:
                out.append(f"{nm or self.names['en']}: {', '.join(kws)}")
        if self.description:
            out.append(f"{self.names['en']}. {self.description}")
        return out

    def to_dict(self, lang: str | None = None) -> dict:
        return {"id": self.id, "name": self.name(lang), "parent": self.parent}


@dataclass
class LabelSet:
    task: str
    labels: list[Label]
    origin: list[str] = field(default_factory=list)  # files it was read from

    def __post_init__(self):
        self.by_id = {lab.id: lab for lab in self.labels}
        self._keys: dict[str, str] = {}
        for lab in self.labels:
            for s in [lab.id, *lab.names.values(), *lab.aliases]:
                if s:
                    self._keys.setdefault(norm_key(s), lab.id)

    @property
    def ids(self) -> list[str]:
        return [lab.id for lab in self.labels]

    def __len__(self) -> int:
        return len(self.labels)

    def __contains__(self, label_id: str) -> bool:
        return label_id in self.by_id

    def resolve(self, name: str) -> str | None:
        """The id of a label given by id, any of its names, or an alias; None if unknown."""
        if name in self.by_id:
            return name
        return self._keys.get(norm_key(name))

    def resolve_all(self, names: list[str], *, strict: bool = False) -> list[str]:
        out = []
        for n in names:
            i = self.resolve(n)
            if i is None and strict:
                raise InputError(f"unknown {self.task} label {n!r}", field="labels")
            if i is not None and i not in out:
                out.append(i)
        return out

    def fingerprint(self) -> str:
        import hashlib

        h = hashlib.sha256()
        for lab in self.labels:
            h.update("\x1f".join([lab.id, *lab.prototype_texts()]).encode())
        return h.hexdigest()[:16]


def _split(v: str | None) -> list[str]:
    return [p.strip() for p in (v or "").split("|") if p.strip()]


def parse_label_csv(text: str, *, name: str) -> list[Label]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError(f"{name}: missing column(s) {', '.join(missing)}", field=name)
    out, seen = [], set()
    for i, row in enumerate(reader, start=2):
        lid = (row.get("id") or "").strip()
        if not lid:
            raise InputError(f"{name} line {i}: empty id", field="id")
        if lid in seen:
            raise InputError(f"{name} line {i}: duplicate id {lid!r}", field="id")
        seen.add(lid)
        names = {lg: (row.get(f"name_{lg}") or "").strip() for lg in LANGS}
        names = {k: v for k, v in names.items() if v}
        if "en" not in names:
            raise InputError(f"{name} line {i}: name_en is empty for {lid!r}", field="name_en")
        out.append(Label(
            id=lid, names=names, parent=(row.get("parent") or "").strip() or None,
            description=(row.get("description_en") or "").strip(),
            keywords={lg: _split(row.get(f"keywords_{lg}")) for lg in LANGS if _split(row.get(f"keywords_{lg}"))},
            aliases=_split(row.get("aliases")), source=(row.get("source") or "").strip(),
        ))
    return out


def _shipped_dir() -> Path:
    return Path(str(files("nrtd_nlp") / "corpora" / "labels"))


def _local_dir(home: Path | None) -> Path | None:
    return Path(home) / "labels" if home else None


def available_tasks(home: Path | None = None) -> list[str]:
    names = {p.stem for p in _shipped_dir().glob("*.csv")}
    local = _local_dir(home)
    if local and local.is_dir():
        names |= {p.stem for p in local.glob("*.csv") if _TASK_RE.match(p.stem)}
    return sorted(n for n in names if _TASK_RE.match(n))


def load_labels(task: str, home: Path | None = None) -> LabelSet:
    """The shipped label set for ``task`` merged with the country's file, if any."""
    if not _TASK_RE.match(task or ""):
        raise InputError(f"bad task name {task!r}", field="task")
    shipped = _shipped_dir() / f"{task}.csv"
    local_dir = _local_dir(home)
    local = local_dir / f"{task}.csv" if local_dir else None
    labels: dict[str, Label] = {}
    origin = []
    for p in (shipped, local):
        if p is not None and p.is_file():
            for lab in parse_label_csv(p.read_text(encoding="utf-8-sig"), name=p.name):
                labels[lab.id] = lab  # the country's row overrides the shipped one
            origin.append(str(p))
    if not labels:
        raise NotFound(f"no label set for task {task!r} (known: {', '.join(available_tasks(home))})", field="task")
    # a parent may live in another task's file (an SDG target's parent is a goal), so it is not checked here
    return LabelSet(task, list(labels.values()), origin)


@functools.lru_cache(maxsize=256)
def _shipped_names(task: str, lang: str = "en") -> dict[str, str]:
    try:
        labels = load_labels(task).labels
    except (NotFound, InputError):
        return {}
    if lang == "en":
        return {lab.id: lab.name() for lab in labels}
    return {lab.id: lab.names[lang] for lab in labels if lab.names.get(lang)}


def label_name(task: str, value: str, lang: str | None = None) -> str | None:
    """The name of a shipped label in ``lang`` (default English), for display; None when the value is not a
    known label id, or the label has no name in that language."""
    return _shipped_names(task, lang or "en").get(value) if _TASK_RE.match(task or "") else None
