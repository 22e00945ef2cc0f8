"""API keys with roles, and the signed session cookie of the review page.

Keys look like ``nrtd_<prefix>_<secret>``: ``prefix`` (8 hex characters) is stored in clear to find the row,
``secret`` is 32 bytes from :func:`secrets.token_urlsafe`. Only SHA-256 of the whole key is stored. A slow
password hash (scrypt, PBKDF2) protects *low-entropy* secrets against guessing; a 256-bit random token cannot be
guessed, so SHA-256 is as safe here and keeps the check on every request well under a millisecond. The
comparison is constant-time.

Roles are ordered: ``reader`` < ``reviewer`` < ``admin``; a role can do everything a lower one can.

The page's session is a cookie ``<payload>.<hmac>`` signed with a server secret (``NRTD_SECRET_KEY``, else a
random one kept in ``$NRTD_HOME/secret_key``, mode 0600). The payload holds the key's id, a random session
nonce and the expiry; the key is re-checked (not revoked) on every request, so revoking a key ends its sessions.
The CSRF token is an HMAC of the nonce: every form carries it and every POST is checked against it.

Every request presents its key, so checked keys are cached in the process (SHA-256 of the key -> principal,
and key id -> principal for page sessions) for at most ``CACHE_SECONDS``. Revoking a key through this module
(API, CLI, page) empties the cache of the process that revoked it, so that process refuses the key at once;
another server process sharing the database refuses it within ``CACHE_SECONDS``. Unknown keys are never
cached. A 401 carries ``WWW-Authenticate``: ``Bearer`` for the API (RFC 6750, ``error="invalid_token"`` when
a key was presented but is unknown, revoked or malformed), the ``Cookie`` scheme naming the sign-in form for
the page's POSTs (its GETs redirect to the sign-in page instead).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ..errors import InputError, NotFound, NrtdError
from ..store.models import ApiKey, AuditEvent, utcnow

ROLES = ("reader", "reviewer", "admin")
SESSION_SECONDS = 12 * 3600


REALM = "nrtd"
CACHE_SECONDS = 2.0


def bearer_challenge(error: str | None = None) -> str:
    return f'Bearer realm="{REALM}"' + (f', error="{error}"' if error else "")


PAGE_CHALLENGE = f'Cookie realm="{REALM}", form-action="/ui/login", cookie-name="nrtd_session"'


class Unauthorized(NrtdError):
    """401, with the ``WWW-Authenticate`` challenge HTTP requires (``headers``; the API's handler sends it)."""

    code = "unauthorized"
    http_status = 401

    def __init__(self, message: str, *, field: str | None = None, challenge: str | None = None):
        super().__init__(message, field=field)
        self.headers = {"WWW-Authenticate": challenge or bearer_challenge()}


class Forbidden(NrtdError):
    code = "forbidden"
    http_status = 403


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's name is what audit events and reviews record."""

    key_id: int
    name: str
    role: str

    def can(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}", field="role")
    return role


def create_key(engine, name: str, role: str, *, actor: str = "cli") -> dict:
    """Create a key; the returned dict holds the only copy of the secret (``key``)."""
    check_role(role)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InputError("a key name of 1 to 100 characters is required", field="name")
    prefix = secrets.token_hex(4)
    key = f"nrtd_{prefix}_{secrets.token_urlsafe(32)}"
    with engine.db.session() as s:
        # reviews and audit events record the key's name: two active keys must never share one
        same = s.scalars(select(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None))).first()
        if same is not None:
            from ..errors import Conflict

            raise Conflict(f"an active key is already named {name!r} (key {same.id}): pick another name, or "
                           f"revoke key {same.id} first to give its holder a new one", field="name")
        row = ApiKey(name=name, prefix=prefix, key_hash=_hash(key), role=role)
        s.add(row)
        s.flush()
        s.add(AuditEvent(who=actor, action="key.create", entity="api_key", entity_id=str(row.id),
                         before=None, after={"name": name, "role": role, "prefix": prefix}))
        return {"id": row.id, "name": name, "role": role, "prefix": prefix, "key": key}


def list_keys(engine) -> list[dict]:
    with engine.db.session() as s:
        return [{"id": k.id, "name": k.name, "role": k.role, "prefix": k.prefix,
                 "created_at": k.created_at.isoformat(), "revoked": k.revoked_at is not None}
                for k in s.scalars(select(ApiKey).order_by(ApiKey.id))]


def revoke_key(engine, ident: str | int, *, actor: str = "cli") -> dict:
    """Revoke by id or prefix. Revoking twice is a conflict, not a silent no-op."""
    from ..errors import Conflict

    with engine.db.session() as s:
        ident = str(ident)
        # the prefix first: 8 hex characters are all digits for one key in 43 ("12345678" is no id)
        k = s.scalars(select(ApiKey).where(ApiKey.prefix == ident)).first()
        if k is None and ident.isdigit() and int(ident) <= 2**63 - 1:  # beyond the INTEGER: no such key
            k = s.get(ApiKey, int(ident))
        if k is None:
            raise NotFound(f"no key {ident!r}", field="key")
        if k.revoked_at is not None:
            raise Conflict(f"key {k.id} ({k.name}) is already revoked", field="key")
        k.revoked_at = utcnow()
        s.add(AuditEvent(who=actor, action="key.revoke", entity="api_key", entity_id=str(k.id),
                         before={"revoked": False}, after={"revoked": True}))
        out = {"id": k.id, "name": k.name, "role": k.role, "revoked": True}
    forget_keys()  # after the commit: a request racing with it re-reads the row and sees the revocation
    return out


# --- checking a presented key (cached) ---------------------------------------------------------------------

_cache: dict[tuple, tuple[Principal, float]] = {}
_cache_lock = threading.Lock()
_generation = [0]  # bumped by forget_keys: a lookup that started before a revocation is not cached


def forget_keys() -> None:
    """Empty this process's cache of checked keys (done on every revocation)."""
    with _cache_lock:
        _cache.clear()
        _generation[0] += 1


def _cached(ck: tuple) -> Principal | None:
    hit = _cache.get(ck)
    if hit is not None and hit[1] > time.monotonic():
        return hit[0]
    return None


def _remember(ck: tuple, p: Principal, generation: int) -> None:
    with _cache_lock:
        if generation != _generation[0]:
            return
        if len(_cache) > 10_000:  # keys are few; this only bounds memory
            _cache.clear()
        _cache[ck] = (p, time.monotonic() + CACHE_SECONDS)


def authenticate(engine, key: str | None) -> Principal:
    """The principal for a presented key; :class:`Unauthorized` when missing, unknown or revoked."""
    if not key:
        raise Unauthorized("an API key is required (Authorization: Bearer <key> or X-API-Key)", field="api_key")
    parts = key.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != "nrtd":
        raise Unauthorized("malformed API key", field="api_key", challenge=bearer_challenge("invalid_token"))
    digest = _hash(key.strip())
    ck = (engine.db.url, digest)
    p = _cached(ck)
    if p is not None:
        return p
    gen = _generation[0]
    with engine.db.engine.connect() as conn:  # one indexed read, no ORM session
        rows = conn.execute(select(ApiKey.id, ApiKey.name, ApiKey.role, ApiKey.key_hash, ApiKey.revoked_at)
                            .where(ApiKey.prefix == parts[1])).all()
    for kid, name, role, key_hash, revoked_at in rows:
        if hmac.compare_digest(key_hash, digest):
            if revoked_at is not None:
                raise Unauthorized("this API key was revoked", field="api_key",
                                   challenge=bearer_challenge("invalid_token"))
            p = Principal(kid, name, role)
            _remember(ck, p, gen)
            return p
    raise Unauthorized("unknown API key", field="api_key", challenge=bearer_challenge("invalid_token"))


def principal_by_id(engine, key_id: int) -> Principal | None:
    ck = (engine.db.url, "id", key_id)
    p = _cached(ck)
    if p is not None:
        return p
    gen = _generation[0]
    with engine.db.engine.connect() as conn:
        row = conn.execute(select(ApiKey.id, ApiKey.name, ApiKey.role, ApiKey.revoked_at)
                           .where(ApiKey.id == key_id)).first()
    if row is None or row.revoked_at is not None:
        return None
    p = Principal(row.id, row.name, row.role)
    _remember(ck, p, gen)
    return p


# --- page sessions -------------------------------------------------------------------------------------------

def server_secret(settings) -> bytes:
    env = os.environ.get("NRTD_SECRET_KEY")
    if env:
        return env.encode("utf-8")
    path = Path(settings.home) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip().encode("utf-8")


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).decode("ascii").rstrip("=")


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def make_session(secret: bytes, key_id: int) -> str:
    payload = _b64(json.dumps({"k": key_id, "n": secrets.token_hex(16),
                               "e": int(time.time()) + SESSION_SECONDS}).encode())
    sig = _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{sig}"


def read_session(secret: bytes, cookie: str | None) -> dict | None:
    """The payload of a valid, unexpired cookie, else ``None``."""
    if not cookie or "." not in cookie:
        return None
    payload, sig = cookie.rsplit(".", 1)
    good = _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(good, sig):
        return None
    try:
        data = json.loads(_unb64(payload))
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("e", 0) < time.time():
        return None
    return data


def csrf_token(secret: bytes, session: dict) -> str:
    return _b64(hmac.new(secret, f"csrf:{session['n']}".encode(), hashlib.sha256).digest())


def check_csrf(secret: bytes, session: dict, token: str | None) -> None:
    if not token or not hmac.compare_digest(csrf_token(secret, session), token):
        raise Forbidden("the form's CSRF token is missing or wrong; reload the page", field="csrf")


def audit_login(engine, p: Principal) -> None:
    with engine.db.session() as s:
        s.add(AuditEvent(who=p.name, action="session.login", entity="api_key", entity_id=str(p.key_id),
                         before=None, after={"role": p.role, "at": dt.datetime.now(dt.timezone.utc).isoformat()}))
