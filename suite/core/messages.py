"""Turning exceptions and long texts into the one-line messages rows carry."""

from __future__ import annotations

import re

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


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# torch.export-based exporter errors open with a generic banner; the cause follows this heading.
_SUMMARY_HEADING = "## Exception summary"
# OpenVINO's ONNX frontend names what it cannot read after this, below a long C++ signature.
_OPENVINO_FRONTEND = "FrontEnd API failed with GeneralFailure:"


def exporter_summary(text: str, limit: int = MESSAGE_CHARS) -> str:
    """The line of an exporter's error that names the cause, without colour codes."""
    text = _ANSI.sub("", text)
    if _OPENVINO_FRONTEND in text:
        cause = " ".join(ln.strip() for ln in text.split(_OPENVINO_FRONTEND, 1)[1].splitlines() if ln.strip())
        return clip(f"OpenVINO could not read the model: {cause}", limit)
    if _SUMMARY_HEADING not in text:
        return first_line(text, limit)
    after = text.split(_SUMMARY_HEADING, 1)[1]
    cause = next((ln.strip() for ln in after.splitlines() if ln.strip().startswith("Caused by:")), "")
    # Keep room for the "Caused by" location: it names the model line to look at.
    summary = first_line(after, limit - len(cause) - 3 if cause else limit)
    return f"{summary} ({cause})" if cause else summary


def raised_at(remote_traceback: str) -> str:
    """ "raised at FILE:LINE in FUNC: CODE" from a formatted traceback, for exceptions with no message."""
    frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)\n\s+(.+)', remote_traceback)
    if not frames:
        return "no message"
    path, line, func, code = frames[-1]
    return f"raised at {path.rsplit('/', 1)[-1]}:{line} in {func}: {code.strip()}"
