"""Secrets out of everything a run writes: one function, applied where a text or an argument list is recorded.

The nightly uploads the report folder as a build artifact, so a database URL with its password
(`--zoo-history postgresql+psycopg://zoo:PASSWORD@host/db`) must never reach metadata.json, the
history's run records, a report, the terminal or an error message. Every URL's password is
written as `***` (what SQLAlchemy's `render_as_string(hide_password=True)` writes), and the
values of environment variables are never recorded at all (only their names, where a message
needs one). No database library is needed here: the plugin imports this module on every run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

HIDDEN = "***"
# scheme://user:password@ : the user has no ':', '/', '@' or space, the password no '@' or space
# (RFC 3986 percent-encodes them), so a path that merely holds ':' and '@' is left alone.
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*):(?P<password>[^\s@]+)@")
# A password given as a URL query parameter (?password=..., &sslpassword=...).
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&][A-Za-z_]*password=)(?P<password>[^&\s]+)", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with every URL password (in the authority or the query) replaced by ***."""
    if "://" not in text and "password" not in text.lower():
        return text  # the common case, without a regex pass
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}:{HIDDEN}@", text)
    return _QUERY_PASSWORD.sub(lambda m: f"{m['head']}{HIDDEN}", text)


def redact_args(args: Iterable[str]) -> list[str]:
    """A command line as it may be recorded."""
    return [redact(str(arg)) for arg in args]


def redact_value(value: Any) -> Any:
    """A JSON-like value (dicts, lists, strings) with every string redacted; other values as they are."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {key: redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    return value


def redacted_json(value: Any) -> str:
    """json.dumps of a value for storage, its strings redacted (non-JSON values as str)."""
    return redact(json.dumps(value, default=str))
