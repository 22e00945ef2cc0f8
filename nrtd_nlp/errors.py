"""Typed, coded errors. The CLI prints them as one line (exit 2); the API maps them to 4xx."""

from __future__ import annotations


class NrtdError(Exception):
    """Base class: ``code`` is stable and machine-readable, ``field`` names the offending input."""

    code = "error"
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    def to_dict(self) -> dict:
        d = {"code": self.code, "message": self.message}
        if self.field:
            d["field"] = self.field
        return d

    def __str__(self) -> str:  # one line, field first when known
        return f"{self.field}: {self.message}" if self.field else self.message

    def __reduce__(self):  # keeps field and code across processes (the tagging process, services/tag_process.py)
        return _rebuild, (type(self), self.message, self.field, self.code)


def _rebuild(cls, message, field, code):
    return cls(message, field=field, code=code)


class InputError(NrtdError):
    """The caller sent something we cannot use (bad file, missing column, empty text…)."""

    code = "invalid_input"
    http_status = 422


class UnsupportedFormat(InputError):
    code = "unsupported_format"
    http_status = 415


class EncodingProblem(InputError):
    code = "bad_encoding"


class NotFound(NrtdError):
    code = "not_found"
    http_status = 404


class Conflict(NrtdError):
    code = "conflict"
    http_status = 409


class ModelUnavailable(NrtdError):
    """A model could not be built or loaded (e.g. its PyPI package is missing)."""

    code = "model_unavailable"
    http_status = 503


def require_reviewer(name) -> str:
    """Every human decision names who made it (audited): a blank name is refused, field ``reviewer``."""
    if not isinstance(name, str) or not name.strip():
        raise InputError("a reviewer name is required", field="reviewer")
    return name


class InterruptedAfterCommit(KeyboardInterrupt):
    """Ctrl-C after an import was committed: the records are stored; ``message`` names the steps that did not
    run and the commands that run them (a re-import finds the records unchanged and runs no step again)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
