"""Turning exceptions and long texts into the one-line messages rows carry."""

from __future__ import annotations

MESSAGE_CHARS = 300
DETAIL_CHARS = 4000


def first_line(exc: BaseException | str, limit: int = MESSAGE_CHARS) -> str:
    """The first non-empty line of an exception's text, cut to `limit` characters."""
    text = str(exc).strip()
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if not line and isinstance(exc, BaseException):
        line = type(exc).__name__
    return clip(line, limit)


def clip(text: str, limit: int = DETAIL_CHARS) -> str:
    """`text` cut to `limit` characters, marking the cut."""
    return text if len(text) <= limit else text[: limit - 15] + " ...[truncated]"
