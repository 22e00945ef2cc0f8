"""Engine and session helpers. SQLite runs in WAL mode with foreign keys on."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    kwargs: dict = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


SQLITE_MAGIC = b"SQLite format 3\x00"


def _store_error(msg: str):
    from ..errors import NrtdError

    return NrtdError(msg, code="store")


def _parse(url: str):
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url)
    except (ArgumentError, ValueError):
        raise _store_error("the database URL (NRTD_DATABASE_URL) is not a valid SQLAlchemy URL; "
                           "e.g. sqlite:////path/to/nrtd.db or postgresql+psycopg://user@host/db") from None


def is_memory_url(url: str) -> bool:
    """An SQLite database that lives only as long as the process (``sqlite://``, ``:memory:``)."""
    u = _parse(url)
    if not u.drivername.startswith("sqlite"):
        return False
    db = u.database or ""
    return db in ("", ":memory:") or u.query.get("mode") == "memory" or db.startswith("file::memory:")


def _check_sqlite_file(path: Path) -> None:
    """Say what is wrong with an SQLite path before SQLite says 'unable to open database file'."""
    folder = path.parent
    if path.is_dir():
        raise _store_error(f"the database {path} is a folder, not a file")
    if not folder.exists():
        raise _store_error(f"the database folder {folder} does not exist; create it or fix NRTD_DATABASE_URL")
    if not folder.is_dir():
        raise _store_error(f"{folder} is a file, not a folder: the database {path.name} cannot be in it")
    if path.exists():
        try:
            with open(path, "rb") as f:
                head = f.read(len(SQLITE_MAGIC))
        except OSError as e:
            raise _store_error(f"the database {path} cannot be read: {e.strerror or e}") from None
        if head and head != SQLITE_MAGIC:
            raise _store_error(f"{path} is not an nrtd database (not an SQLite file)")
    # SQLite in WAL mode writes its -wal and -shm files beside the database, even to read it
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise _store_error(f"the store {folder} is read-only; nrtd needs write access to it "
                           "(SQLite keeps its -wal and -shm files beside the database)")


class Database:
    """Owns the engine and the session factory for one database URL. Problems of the store itself
    (a bad URL, a missing driver, a missing folder, a file that is not a database, a read-only
    store) are one NrtdError with code ``store``. Folders are never created here: the default
    database's folder is NRTD_HOME, which Settings.ensure_dirs creates."""

    def __init__(self, url: str, *, auto_migrate: bool = True):
        from sqlalchemy.exc import DatabaseError, NoSuchModuleError, OperationalError

        u = _parse(url)
        shown = u.render_as_string(hide_password=True)
        if u.drivername.startswith("sqlite") and not is_memory_url(url):
            _check_sqlite_file(Path(u.database))
        self.url = url
        try:
            self.engine = make_engine(url)
        except NoSuchModuleError:
            raise _store_error(f"unknown database kind {u.drivername!r} in the database URL") from None
        except ImportError as e:
            raise _store_error(f"{u.get_backend_name()} databases need the Python package "
                               f"{(e.name or str(e)).split('.')[0]!r}, which is not installed") from None
        if auto_migrate:
            try:
                migrate(self.engine)
            except DatabaseError as e:  # not its subclasses IntegrityError, ProgrammingError…: those are defects
                if not (isinstance(e, OperationalError) or type(e) is DatabaseError):
                    raise
                self.engine.dispose()
                first = " ".join(str(e.orig).split())[:200]
                raise _store_error(f"cannot open the database {shown}: {first}") from None
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back everything on any error."""
        s = self.sessionmaker()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def dispose(self) -> None:
        self.engine.dispose()
