"""What a recommendation asks: action class, instruments, affected groups, numbers, negation, and
its atomic asks (one action, one object), so "Ratify the ICCPR, the ICESCR, the CAT and the CERD"
and "Ratify the CAT and ICERD" overlap exactly on two asks.

Rules and word lists, English first with the common French, Spanish and Portuguese verbs and groups;
instruments come from the editable data file ``corpora/instruments/instruments.csv``. Arabic and Russian
actions, groups and negation are told to a person only (``Asks.asked``, ``told_groups``, ``told_negated``):
the link scorer (link-scorer@5) was trained without them, so its features read none and stay as trained,
and their pairs are scored on the other features (their word lists: ``asks_told``). Chinese gets none.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files

from .asks_told import told_groups_negation, told_only_hits

# (class, regex) in priority order: specific actions before generic ones
_ACTIONS: list[tuple[str, str]] = [
    ("withdraw_reservations", r"withdraw\w*|lift\w*|retir\w*|levant\w*"),  # checked with "reservation"
    ("abolish_death_penalty", r"abolish\w*|abolition|moratori\w+|abolir|abolici\w+|aboli[çc]\w+|commut\w+|conmut\w+|comutar"),  # with "death"
    ("ratify", r"ratif\w+|acce(?:de|ding|ssion)|adher\w+|adh[ée]r\w+|aderir|ades[ãa]o|become a party|becoming a party|"
               r"sign\w*|adhesi\w+|signer"),
    ("invite", r"standing invitation|invit\w+|invitaci\w+|convite\w*|country visits?|visit requests?"),
    ("report", r"submit\w*|overdue reports?|present\w* (?:its|the) (?:initial|periodic)|report(?:s)? to the committee|"
               r"soumettre|presentar (?:su|sus|el|los) (?:\w+ ){0,2}informes?|apresentar (?:o|os|seu|seus) (?:\w+ ){0,2}relat[óo]rios?"),
    ("establish", r"establish\w*|creat\w+|set(?:ting)? up|crear|cr[ée]er|criar|cria[çc][ãa]o|establec\w+|estabelec\w+|"
                  r"[ée]tablir|institu\w+|mettre en place"),
    ("repeal", r"repeal\w*|decriminali[sz]\w+|d[ée]criminali\w+|despenaliz\w+|abrog\w+|derog\w+|revog\w+|remove\w*|annul\w*"),
    ("legislate", r"adopt\w* (?:a |an |the )?(?:\w+ ){0,3}(?:law|legislation|bill|act|code)|enact\w*|pass\w* (?:a |the )?(?:\w+ ){0,2}(?:law|bill)|"
                  r"amend\w*|criminali[sz]\w+|legisla\w+|l[ée]gisla\w+|l[ée]gif[ée]r\w*|revis\w+ (?:the |its )?(?:\w+ ){0,2}(?:law|code|legislation)|"
                  r"bring (?:its )?(?:\w+ )?legislation into|harmoni[sz]\w+ (?:its )?(?:national )?legislation|prohibit\w*|"
                  r"(?:adopt|aprob|promulg|adot|aprov)\w* (?:una |la |uma |a |une |la )?(?:\w+ ){0,3}(?:ley|lei|loi)\b|"
                  r"promulgar|tipificar|interdire|prohibir|proibir"),
    ("investigate", r"investigat\w+|investig(?:ar|ue|uen|ación|ações|ação|uer)\w*|enqu[êe]t\w+|prosecut\w+|bring\w* (?:\w+ ){0,4}to justice|"
                    r"punish\w*|impunity|impunidad|impunit[ée]|impunidade|enjuici\w+|juzgar|julgar|sancionar|castigar|punir|"
                    r"poursuiv\w+ en justice"),
    ("release", r"releas\w+|lib[ée]r\w+"),
    ("policy", r"(?:action )?plan\b|strateg\w+|estrat[ée]gi\w+|polic(?:y|ies)|programm?es?|programas?\b|plan d'action|"
               r"plano (?:nacional|de a[çc][ãa]o)|pol[ií]tica"),
    ("train", r"train\w*|capacity[- ]building|formaci\w+|formation|forma[çc][ãa]o|capacita\w+"),
    ("awareness", r"awareness|campaign\w*|campa[ñn]\w+|campanha\w*|sensiti[sz]\w+|sensibili\w+|conscientiz\w+|concientiz\w+"),  # not "conscientious"
    ("resources", r"resources|budget\w*|fund\w*|recursos|ressources|presupuest\w+|or[çc]amento\w*"),
    ("data", r"data\b|statistic\w*|datos|dados|donn[ée]es|estad[ií]stic\w+|estat[ií]stic\w+|statistiques"),
    ("cooperate", r"cooperat\w+|collaborat\w+|coop[ée]r\w+|cooperar|coopera[çc][ãa]o|cooperaci[oó]n|colaborar|"
                  r"colabora[çc][ãa]o|colaboraci[oó]n|technical assistance|asistencia t[ée]cnica|assist[êe]ncia t[ée]cnica|"
                  r"assistance technique"),
    ("combat", r"combat\w*|fight\w*|eliminat\w+|[ée]limin\w+|eradicat\w+|prevent\w*|pr[ée]venir|tackl\w+|"
               r"lutter|luchar|lutar|erradic\w+|enfrentar"),
    ("ensure", r"ensur\w+|guarante\w+|protect\w*|respect\w*|garanti\w+|veiller|velar|zelar|proteg\w+|assegur\w+|asegur\w+"),
    ("strengthen", r"strengthen\w*|intensif\w+|enhanc\w+|improv\w+|reinforc\w+|renforc\w+|fortalec\w+|refor[çc]\w+|reforzar|"
                   r"step up|promot\w+|promov\w+|promouv\w+|mejorar|melhorar|améliorer|amélioration|amélior[ée]\w*"),
]
_ACTION_RE = [(name, re.compile(r"\b(?:" + pat + r")", re.I)) for name, pat in _ACTIONS]
# words the scorer's feature reads as an action (as link-scorer@5 was trained: masking them measured
# worse), but that ask nothing of the kind, so a person is not told them: "institution" is no
# "establish" (an audit: 109 of 6,000 UPR texts), "fundamental" no resources (68), "political" no
# policy (164), "liberty"/"libertad" no release (21), "prisión preventiva" (pre-trial detention) no prevention
_NOT_TOLD = {
    "establish": re.compile(r"institu(?:tion|cion|ción|ição|içõe|tional|cional|t\b)\w*", re.I),
    "resources": re.compile(r"fundament\w*", re.I),
    "policy": re.compile(r"political\w*|politically", re.I),
    "release": re.compile(r"libert(?:y|ies|ad|ades|é|és|e|as)\b|liberdade\w*|liberal\w*|liberat\w*", re.I),
    "combat": re.compile(r"preventiv[ao]s?\b", re.I),
}
# read only for the action a person is told (``Asks.asked``), not by the scorer: see ``find_actions``
_ASKED_EXTRA = [("ratify", re.compile(r"\b(?:being|become|becoming|be) (?:a )?party\b", re.I))]
_ACTION_RX_ALL = [(n, rx, True) for n, rx in _ACTION_RE] + [(n, rx, False) for n, rx in _ASKED_EXTRA]
GENERIC_ACTIONS = {"combat", "ensure", "strengthen", "cooperate"}

_GROUPS = {
    "women": r"wom[ae]n|girls?|gender|femmes?|mujer\w*|mulher\w*|ni[ñn]as|meninas|maternal|materna|domestic violence|"
             r"violencia dom[ée]stica|viol[êe]ncia dom[ée]stica|g[ée]nero",
    "children": r"child\w*|juvenile|minors?|adolescen\w+|youth|enfants?|ni[ñn]os?|crian[çc]as?|infan\w+|birth registration|"
                r"registro de nacimientos|registo de nascimento|registro de nascimento",
    "disability": r"disabilit\w+|disabled|handicap\w*|discapacidad|defici[êe]ncia",
    "migrants": r"migra\w+|refugee\w*|asylum|r[ée]fugi\w+|refugiad\w+|asilo|trafficking|trata de|tr[áa]fico de",
    "indigenous": r"indigen\w+|autochtone\w*|ind[ií]gena\w*|tribal",
    "lgbti": r"lgbt\w*|sexual orientation|gender identity|homosexual\w*|same-sex|intersex|orientaci[oó]n sexual|"
             r"orienta[çc][ãa]o sexual|orientation sexuelle|identidad de g[ée]nero|identidade de g[êe]nero|identit[ée] de genre",
    "minorities": r"minorit\w+|minor[ií]as?|roma\b|ethnic|[ée]tni\w+|racial|racism|racismo|xenophob\w+|xenofob\w+|caste",
    "defenders": r"human rights defenders?|journalists?|periodistas?|journalistes?|jornalistas?|defensores|d[ée]fenseurs|"
                 r"media workers",
    "detainees": r"detain\w+|detention|d[ée]tention|detenci[oó]n|deten[çc][ãa]o|prison\w*|pris[ãa]o|pris[ií][oó]n|c[áa]rcel\w*|"
                 r"deprived of (?:their )?liberty|privad[oa]s de (?:su )?libert\w+|torture|tortura|d[ée]tenu\w*|reclus\w*",
    "older": r"older persons|elderly|personas mayores|personnes [âa]g[ée]es|pessoas idosas",
    "stateless": r"stateless\w*|apatrid\w*|nationality",
    "displaced": r"internally displaced|IDPs?|d[ée]plac[ée]\w*|desplazad\w+|deslocad\w+",
}
_GROUP_RE = {k: re.compile(r"\b(?:" + v + r")", re.I) for k, v in _GROUPS.items()}
# Spanish "no" before an adjective or a noun ("organizaciones no gubernamentales", "trabajo no remunerado",
# "no discriminación", "no devolución") negates no ask; Portuguese negates with "não" ("no" is "in the")
_NEGATION = re.compile(r"\b(?:not|no(?! (?:gubernament|remunerad|discriminaci|devoluci|violencia|acompañad))|never|"
                       r"refrain\w*|cease\w*|halt\w*|stop\w*|ne\b|pas\b|jam[aá]s|nunca|n[ãa]o|nunca)\b", re.I)
_NUMBER = re.compile(r"\b(?:1[89]\d\d|20\d\d|\d+(?:\.\d+)?)\b")
_WORD = re.compile(r"[^\W\d_]{3,}")
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}")
STOP = set("""the and for with that this its their all any other such from into under which those these
their them they been have has had will shall should would could must may also including include
including within without between through against towards about after before upon while where when
state party states parties country government national further efforts measures necessary
appropriate continue consider take ensure effective full fully particular particularly especially
order view line accordance including inter alia more most well same""".split())


@dataclass
class Instrument:
    id: str
    family: str
    regex: re.Pattern
    # literal words every match contains (lower-cased names, case-kept acronyms): the regex runs only on a text
    # holding one of them (parsing the 36k UPR texts: instrument matching had become half the time); None: always
    anchors: tuple[tuple[str, ...], tuple[str, ...]] | None = None

    def finditer(self, text: str, low: str):
        if self.anchors is not None:
            lower, kept = self.anchors
            if not any(a in low for a in lower) and not any(a in text for a in kept):
                return ()
        return self.regex.finditer(text)


_QUANT = set("?*+{")
_META = set("()[]|.^$\\")


def _literal_anchor(pattern: str) -> str | None:
    """The longest run of plain characters that every match of ``pattern`` contains (outside groups and
    classes, not under a quantifier), or None when there is none of 3 characters or more."""
    runs, cur, depth, i = [], "", 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            runs.append(cur)
            cur, i = "", i + 2
            continue
        if c == "[":  # a character class: skip to its end
            runs.append(cur)
            cur = ""
            j = pattern.find("]", i + 2)
            i = len(pattern) if j < 0 else j + 1
            continue
        if c in "()":
            depth += 1 if c == "(" else -1
            runs.append(cur)
            cur, i = "", i + 1
            continue
        if c in _QUANT:
            runs.append(cur[:-1])  # the quantified character is optional
            j = pattern.find("}", i) if c == "{" else i  # "{0,40}" is a count, no literal text
            cur, i = "", (i if j < 0 else j) + 1
            continue
        if c in _META or depth:
            runs.append(cur)
            cur, i = "", i + 1
            continue
        cur += c
        i += 1
    runs.append(cur)
    best = max((r.strip() for r in runs), key=len, default="")
    return best if len(best) >= 3 else None


@lru_cache(maxsize=1)
def instruments() -> list[Instrument]:
    path = files("nrtd_nlp") / "corpora" / "instruments" / "instruments.csv"
    out = []
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            # acronyms are case-sensitive (CAT is not "cat"); names are not
            cols = [c for c in row if c and c.startswith("patterns_")]  # a country may add a language column
            names = [p for c in cols for p in (row.get(c) or "").split("|") if p]
            acr = [r"(?<![\w-])" + re.escape(a).replace(r"\ ", r"[\s-]?") + r"(?![\w-])"
                   for a in row["acronyms"].split("|") if a]
            lower = [_literal_anchor(p) for p in names]
            kept = [max(a.split(" "), key=len) for a in row["acronyms"].split("|") if a]
            anchors = None if None in lower or any(len(k) < 2 for k in kept) else (
                tuple(sorted({a.lower() for a in lower})), tuple(sorted(set(kept))))
            out.append(Instrument(row["id"], row["family"], re.compile("|".join([f"(?i:{p})" for p in names] + acr)),
                                  anchors))
    return out


_ITS_PROTOCOL = re.compile(r"^[\s,]*(?:and|as well as|together with)?\s*(?:to\s+)?(?:its|the)\s+(?:first\s+|two\s+|both\s+)?"
                           r"optional\s+protocols?", re.I)
# "… وبروتوكولها الاختياري" / "… и Факультативного протокола к ней" (and its Optional Protocol); a dual or plural
# ("وبروتوكوليه الاختياريين", "Факультативных протоколов к нему") asks both of the parent's protocols
_ITS_PROTOCOL_AR_RU = re.compile(r"^[\s,،]*(?:و\s*)?(?:على\s+|إلى\s+)?و?بروتوكول(?:ها|ه|يها|يه)\s+الاختياري(?:ين|ان)?|"
                                 r"^[\s,]*(?:\([А-ЯЁA-Z-]+\)\s*,?\s*)?(?:и|а\s+также)\s+"
                                 r"факультативн\w+\s+протокол\w*\s+к\s+(?:ней|нему)\b", re.I)
_PLURAL_AR_RU = re.compile(r"بروتوكولي|الاختياري(?:ين|ان)|протокол(?:ы|ов|ам|ами|ах)\b", re.I)
_PROTOCOL_OF = {"CAT": ["OP-CAT"], "CEDAW": ["OP-CEDAW"], "CRPD": ["OP-CRPD"], "ICESCR": ["ICESCR-OP"],
                "CRC": ["OP-CRC-AC", "OP-CRC-SC"], "ICCPR": ["ICCPR-OP1", "ICCPR-OP2"]}


def _instrument_matches(text: str) -> list[tuple[int, int, str]]:
    """(start, end, instrument id) of every match of every instrument, overlapping ones included."""
    low = text.lower()
    return [(m.start(), m.end(), ins.id) for ins in instruments() for m in ins.finditer(text, low)]


def find_instruments(text: str, matches: list[tuple[int, int, str]] | None = None) -> list[str]:
    """Instruments named, in order of appearance. Matches are taken longest first and a match inside
    a longer one is dropped: "Optional Protocol to the Convention against Torture" is OP-CAT, not
    also CAT (an optional protocol's or agreement's name contains its parent's)."""
    matches = _instrument_matches(text) if matches is None else matches
    taken: list[tuple[int, int, str]] = []
    for start, end, iid in sorted(matches, key=lambda m: (m[0] - m[1], m[0])):
        if all(end <= s0 or start >= e0 for s0, e0, _ in taken):
            taken.append((start, end, iid))
    found: list[tuple[int, str]] = []
    for start, end, iid in taken:
        if iid == "ROME" and _ICC_NHRI.search(text) and not re.search(r"rome|criminal", text, re.I):
            continue  # "accredited by ICC": the NHRIs' International Coordinating Committee
        of = _protocol_of(text, start, taken) if iid in _PROTOCOL_OF else None
        if of is False and any(start < s0 <= end + 80 and i0 in _PROTOCOL_OF[iid] for s0, _, i0 in taken):
            continue  # "the Optional Protocol to the CRC on the sale of children": that protocol, found too
        if of is not None:  # "the Optional Protocols to ICESCR and CRPD" ask the protocols, not the parents
            protos = _PROTOCOL_OF[iid]
            found += [(start, p) for p in (protos if of else protos[:1])]
            continue
        found.append((start, iid))
        # "the Convention against Torture … and its Optional Protocol": the protocol is asked too
        after = _after_title(text, end)
        tail = _ITS_PROTOCOL.match(after) or _ITS_PROTOCOL_AR_RU.match(after)
        if tail and iid in _PROTOCOL_OF:
            protos = _PROTOCOL_OF[iid]
            plural = (tail.group(0).lower().rstrip().endswith("protocols") or "two" in tail.group(0).lower()
                      or _PLURAL_AR_RU.search(tail.group(0)) is not None)
            found += [(start + 1, p) for p in (protos if plural else protos[:1])]
    seen, out = set(), []
    for _, i in sorted(found):
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out


_ICC_NHRI = re.compile(r"accredit\w*", re.I)
_OP_HEAD = re.compile(r"optional\s+protocol(s)?\s+(?:to|of)\s+(?:the\s+)?", re.I)
_LIST_GAP = re.compile(r"^(?:\s|,|\band\b|\bto\b|\bthe\b|\bas well as\b)*$", re.I)


def _protocol_of(text: str, start: int, taken: list[tuple[int, int, str]]) -> bool | None:
    """Is the parent instrument at ``start`` the object of a preceding "Optional Protocol(s) to"
    (possibly through a list: "the Optional Protocols to ICESR and CRPD")? None if not, else
    whether "protocols" was plural."""
    heads = [m for m in _OP_HEAD.finditer(text, 0, start) if m.end() <= start]
    if not heads:
        return None
    head = heads[-1]
    gap = text[head.end():start]
    for s0, e0, _ in sorted(taken, reverse=True):  # drop the other instruments listed in between
        if s0 >= head.end() and e0 <= start:
            gap = gap[: s0 - head.end()] + gap[e0 - head.end():]
    return bool(head.group(1)) if _LIST_GAP.match(gap) else None


_TITLE_TAIL = re.compile(r"^(?:\s+and\s+Other\s+Cruel,?\s+Inhuman\s+or\s+Degrading\s+Treatment\s+or\s+Punishment|"
                         r"\s*\([A-Z-]+\))*", re.I)


def _after_title(text: str, end: int) -> str:
    """The text after an instrument's name, past the rest of its long title or acronym."""
    m = _TITLE_TAIL.match(text[end:])
    return text[end + (m.end() if m else 0):]


def family_of(instrument_id: str) -> str:
    for ins in instruments():
        if ins.id == instrument_id:
            return ins.family
    return instrument_id


def _action_hits(text: str) -> list[tuple[int, str, bool | str]]:
    """(position, action class, read by the scorer) of every action word, in order; "scored only" (truthy)
    marks a word the scorer reads but a person is not told (``_NOT_TOLD``)."""
    hits: list[tuple[int, str, bool]] = []
    low = text.lower()
    for name, rx, scored in _ACTION_RX_ALL:
        for m in rx.finditer(text):
            if name == "withdraw_reservations" and "reserv" not in low:
                continue
            if name == "abolish_death_penalty" and not re.search(r"death|capital|muerte|mort\b|executions?", low):
                continue
            told = not (name in _NOT_TOLD and _NOT_TOLD[name].match(text, m.start()))
            hits.append((m.start(), name, scored if told else "scored only"))
    hits += told_only_hits(text)
    hits.sort(key=lambda h: (h[0], h[1]))  # ties by name, as the scorer was trained
    return hits


def _distinct(names) -> list[str]:
    return list(dict.fromkeys(names))


def find_actions(text: str, titles: list[tuple[int, int, str]] | None = None,
                 hits: list[tuple[int, str, bool]] | None = None) -> list[str]:
    """Action classes in the order they appear (reservations/death penalty need their object).

    With ``titles`` (instrument matches), the actions a person is told: words inside an instrument's
    title are not asked ("the Convention on the Elimination of All Forms of Racial Discrimination" asks
    no "combat", "… on the Protection of the Rights of All Migrant Workers" no "protect"), and "being
    party" is "ratify". Without, the scorer's feature, as ``link-scorer@5`` was trained (masking titles
    there measured 0.905 against 0.910 duplicate precision at recall 0.90, within the folds' spread)."""
    hits = _action_hits(text) if hits is None else hits
    if titles is None:
        return _distinct(n for _, n, scored in hits if scored)
    return _distinct(n for pos, n, scored in hits if scored != "scored only"
                     and not any(s0 <= pos < e0 for s0, e0, _ in titles))


DOMINANT_ACTIONS = ("abolish_death_penalty", "withdraw_reservations")  # they name their own object;
# used to word explanations (the scorer's feature stays the first specific action: it measured better)


def primary_action(actions: list[str]) -> str | None:
    specific = [a for a in actions if a not in GENERIC_ACTIONS]
    return specific[0] if specific else (actions[0] if actions else None)


@dataclass
class Asks:
    action: str | None
    actions: list[str]
    instruments: list[str]
    groups: set[str]
    numbers: set[str]
    negated: bool
    words: set[str]
    atomic: list[tuple[str, str]] = field(default_factory=list)  # (action, object)
    intents: set[str] = field(default_factory=set)  # specific verb intents (``intents()``)
    asked: list[str] | None = None  # actions outside instrument titles, for explanations (``find_actions``)
    told_groups: set[str] | None = None  # ``groups`` with the Arabic and Russian ones; None: ``groups``
    told_negated: bool | None = None  # ``negated`` or an Arabic or Russian negation; None: ``negated``

    @property
    def asked_action(self) -> str | None:
        return primary_action(self.asked) if self.asked is not None else self.action

    def families(self) -> set[str]:
        return {family_of(i) for i in self.instruments}


_VERBS = ("take|ensure|adopt|establish|ratify|accede|align|implement|strengthen|continue|develop|promote|protect|"
          "guarantee|provide|allocate|review|amend|repeal|investigate|bring|prosecute|combat|eliminate|prevent|"
          "raise|conduct|create|extend|increase|improve|intensify|submit|cooperate|invite|consider|abolish|release|"
          "end|put|pursue|respect|undertake|make|step|set|incorporate|harmoni[sz]e|enact|withdraw|lift|remove|seek|"
          "facilitate|grant|support|monitor|collect|train|expedite|finali[sz]e|fully|effectively|address|reinforce|"
          "adhere|become|redouble|enhance|examine|evaluate|request|reconsider|accept|prohibit|punish|enforce|reform|"
          "commute|restore|abolish|stop|cease|refrain|launch|start|declare|allow|give|share|recogni[sz]e|sign|"
          "introduce|integrate|include|reduce|speed|finalise|finalize|safeguard|secure|conclude|designate")
_CLAUSE = re.compile(r"\s*(?:;|:|\.\s+|\s+-\s+|,\s+(?:and\s+|as well as\s+)?(?:to\s+)?(?=(?:" + _VERBS + r")\b)|"
                     r",?\s+(?:and|as well as|while|but)\s+(?:to\s+)?(?=(?:further\s+|also\s+|"
                     r"immediately\s+|effectively\s+|fully\s+)?(?:" + _VERBS + r")\b))\s*", re.I)


# verb intents of an ask, finer than the action classes above: "ratify X" and "ratify and implement
# X" differ by one intent; generic verbs (ensure, strengthen, promote, combat...) carry none
_INTENTS: dict[str, str] = {
    "ratify": r"ratif\w+|acce(?:de|ding|ssion)|adher\w+|become (?:a )?party|becoming (?:a )?party|sign\b|signing|signature",
    "implement": r"implement\w*|enforc\w+|appl(?:y|ication)\b|give effect|full effect|comply\w*|complian\w+",
    "legislate": r"enact\w*|legislat\w+|amend\w*|criminali[sz]\w+|incorporat\w+|domesticat\w+|"
                 r"(?:adopt|pass|draft)\w* (?:a |an |the |specific |new )?(?:\w+ ){0,3}(?:law|bill|code|act)\b|"
                 r"(?:harmoni[sz]|align|bring)\w* (?:its |the )?(?:\w+ ){0,2}(?:law|legislation)|prohibit\w*",
    "repeal": r"repeal\w*|decriminali[sz]\w+|abrog\w+|remov\w+ (?:the |all )?(?:\w+ )?(?:provision|law|article)",
    "abolish": r"abolish\w*|abolition",
    "moratorium": r"moratori\w+",
    "commute": r"commut\w+",
    "establish": r"establish\w*|creat\w+|set(?:ting)? up|designat\w+",
    "review": r"\breview\w*|revis\w+|reconsider\w*|evaluat\w+|assess\w*",
    "investigate": r"investigat\w+|inquir\w+",
    "prosecute": r"prosecut\w+|punish\w*|bring\w* (?:\w+ ){0,6}to justice|accountab\w+|impunity",
    "invite": r"invitation|invit\w+|visits?\b|mission\b",
    "report": r"report(?:s|ing)?\b|submit\w*",
    "plan": r"action plan|plan of action|national plan|strateg\w+|polic(?:y|ies)",
    "train": r"train\w*|capacity[- ]building",
    "awareness": r"awareness|campaign\w*|sensiti[sz]\w+|informat\w+ campaign",
    "cooperate": r"cooperat\w+|technical assistance|assistance from|dialogue",
    "resources": r"resources|budget\w*|fund\w*",
    "data": r"\bdata\b|statistic\w*",
    "access": r"\baccess\b",
    "cease": r"\bend\b|\bstop\w*|cease\w*|halt\w*|refrain\w*|put an end",
    "release": r"releas\w+",
    "withdraw": r"withdraw\w*|lift\w* (?:its |the |all )?reservation",
    "shelter": r"shelter\w*",
    "accredit": r"accredit\w*",
}
_INTENT_RE = {k: re.compile(r"\b(?:" + v + r")", re.I) for k, v in _INTENTS.items()}


def intents(text: str) -> set[str]:
    """The specific verb intents a text asks (see ``_INTENTS``)."""
    return {k for k, rx in _INTENT_RE.items() if rx.search(text)}


def _words(text: str) -> set[str]:
    """Lower-cased words of three letters or more; a run of CJK characters gives its overlapping
    character bigrams instead (as ``link.idf.preprocess``): Chinese has no spaces, so the word pattern
    read a whole clause as one word (the word overlap of a Chinese pair followed the same pair's in
    English with Spearman 0.29, French 0.82)."""
    if not _CJK_RUN.search(text):
        return {w.lower() for w in _WORD.findall(text)}
    grams = {r[i : i + 2] for r in _CJK_RUN.findall(text) for i in range(len(r) - 1)}
    return {w.lower() for w in _WORD.findall(_CJK_RUN.sub(" ", text))} | grams


def clauses(text: str) -> list[str]:
    """The text cut where a new ask begins ("; ", ". ", " - ", "and" + an action verb), so an ask one
    side adds ("... and commute all death sentences") stands as its own clause."""
    return [c for c in _CLAUSE.split(text) if len(c.split()) >= 2] or [text]


def parse(text: str) -> Asks:
    titles = _instrument_matches(text)
    hits = _action_hits(text)
    acts = find_actions(text, hits=hits)
    action = primary_action(acts)
    ins = find_instruments(text, titles)
    groups = {g for g, rx in _GROUP_RE.items() if rx.search(text)}
    numbers = set(_NUMBER.findall(text))
    words = _words(text) - STOP
    if action in ("ratify", "withdraw_reservations") and ins:
        atomic = [(action, i) for i in ins]
    elif ins:
        atomic = [(action or "?", i) for i in ins]
    else:
        key = ",".join(sorted(groups)) or "general"
        atomic = [(action or "?", key)]
    negated = bool(_NEGATION.search(text))
    told_groups, told_negated = told_groups_negation(text, groups, negated)
    return Asks(action, acts, ins, groups, numbers, negated, words, atomic, intents(text),
                find_actions(text, titles, hits), told_groups, told_negated)
