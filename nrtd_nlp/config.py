"""Settings from the environment (pydantic-settings). All state lives under ``NRTD_HOME``."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "nrtd"


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nrtd"


class Settings(BaseSettings):
    """Every field can be set as ``NRTD_<NAME>`` (e.g. ``NRTD_HOME``, ``NRTD_EMBEDDER``)."""

    model_config = SettingsConfigDict(env_prefix="NRTD_", extra="ignore")

    home: Path = Field(default_factory=_default_home, description="data folder: database, index, models")

    @field_validator("home", "cache_dir", mode="before")
    @classmethod
    def _not_empty(cls, v):
        if isinstance(v, str) and not v.strip():  # NRTD_HOME= would put the store in the current folder
            raise ValueError("is empty: name a folder, or unset it for the default")
        return v

    cache_dir: Path = Field(default_factory=_default_cache, description="built model folders (shared)")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in home")
    embedder: str = Field(default="e5-use", description="embedder name from the registry (nrtd embedders)")
    embed_batch_size: int = Field(default=32, ge=1, le=4096, description="texts embedded at once")
    embed_on_import: bool = True
    link_on_import: bool = Field(default=True, description="compute links for imported records")
    link_model_dir: Path | None = Field(default=None, description="pair-scorer bundle; default: the packaged one")
    link_pair_encoder: bool = Field(default=True, description="let the bundle's pair encoder (a cross-encoder, "
                                    "link/pair_encoder.py) re-read the same-language pairs the scorer is unsure of; "
                                    "false: the scorer alone (faster, less precise)")
    link_pair_encoder_max_pairs: int = Field(default=2000, ge=0, description="pairs the pair encoder reads anew in "
                                             "one links run, the most uncertain first (~60 ms each on 2 cores); its "
                                             "answers are kept in the store, so the next run reads the next ones")
    tag_on_import: bool = Field(default=True, description="store tag suggestions for imported records")
    warm_taggers: bool = Field(default=True, description="load every tagger when the server starts (a task "
                               "without a bundle for this embedder builds its zero-shot prototypes then)")
    tag_process: bool = Field(default=True, description="the API server tags POST /v1/tag micro-batches in a "
                              "child process of its own (two cores busy instead of one; services/tag_process.py)")
    tag_view: str = Field(default="use-multilingual-v3", description="the part of the embedding new taggers "
                          "are trained on (a part's model id prefix, or 'whole'); tagging one text then "
                          "needs only that part's encoder")
    tag_encoder: str = Field(default="e5-small", description="the encoder whose top layers `nrtd train` fine-tunes "
                             "for the tasks that use an encoder head (TASK_PARAMS: action category, UPR issues); 'none' "
                             "trains those tasks without it (much faster, less accurate)")
    tag_refine: Literal["batch", "always"] = Field(
        default="batch", description="where the encoder heads (a fine-tuned e5 pass, ~15 ms a text) answer: 'batch' "
        "for imports, nrtd suggest/tag/evaluate but not the server's POST /v1/tag (kept fast); 'always' there too")
    switch_interval_ms: float = Field(default=0.5, ge=0, description="the API server's GIL switch interval "
                                      "(Python's default is 5 ms; 0 = leave it): the thread that hands "
                                      "POST /v1/tag batches to the tagging process waits for the lock "
                                      "no longer than this while the event loop answers requests")
    use_token_cache: int = Field(default=8192, ge=0, description="token ids whose per-token USE-m3 work is "
                                 "kept (13 KB each, filled as first seen; 0 = off; embed/use_token_cache.py)")
    max_text_chars: int = Field(default=20_000, ge=1)
    max_upload_bytes: int = Field(default=100 * 1024 * 1024, ge=1)
    threads: int | None = Field(default=None, ge=1, description="torch/BLAS threads; default: all cores")
    ui_language: str = Field(default="en", description="the review pages' language when neither ?lang=, its "
                             "cookie nor the browser's Accept-Language names one we have (en, es, fr)")

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'nrtd.db'}"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    def ensure_dirs(self) -> None:
        """Create the data folders; a path that cannot be one (a file, a read-only place) is one
        NrtdError (code ``store``) naming the variable and the path."""
        for var, path in (("NRTD_HOME", self.home), ("NRTD_HOME", self.index_dir),
                          ("NRTD_CACHE_DIR", self.cache_dir)):
            _make_folder(var, Path(path))


def _make_folder(var: str, path: Path) -> None:
    from .errors import NrtdError

    if path.is_dir():
        return
    if path.exists():
        raise NrtdError(f"{var} {path} is a file, not a folder", code="store")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        above = next((p for p in path.parents if p.exists()), None)
        if above is not None and not above.is_dir():
            why = f"{above} is a file, not a folder"
        elif isinstance(e, PermissionError) or e.errno == 30:  # EACCES / EROFS
            why = f"{above or path.parent} is read-only"
        else:
            why = e.strerror or str(e)
        raise NrtdError(f"{var}: cannot create the folder {path}: {why}", code="store") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
