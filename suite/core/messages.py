"""Turning exceptions and long texts into the one-line messages rows carry."""

from __future__ import annotations

import math
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


# Terminal control sequences (CSI: colours, cursor moves): ONNX Runtime's log lines carry colour codes.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
# torch.export-based exporter errors open with a generic banner; the cause follows this heading.
_SUMMARY_HEADING = "## Exception summary"
# OpenVINO's ONNX frontend names what it cannot read after this, below a long C++ signature.
_OPENVINO_FRONTEND = "FrontEnd API failed with GeneralFailure:"


def exporter_summary(text: str, limit: int = MESSAGE_CHARS) -> str:
    """The line of an exporter's error that names the cause, without colour codes."""
    text = strip_ansi(text)
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


def strip_ansi(text: str) -> str:
    """`text` without terminal escape sequences (colours and the like)."""
    return _ANSI.sub("", text)


# Lines of a Python traceback that say where, not what: the header, frames, carets, chaining notes.
_TRACEBACK_NOISE = re.compile(
    r"Traceback \(most recent call last\):|File \".*\", line \d+.*|[\^~ ]+|"
    r"During handling of the above exception.*|The above exception was the direct cause.*"
)


def clean_message(text: object) -> str:
    """A row's message as the diff and the reports show it: one informative line, no escape codes.

    A one-line message comes back whole, less its escape codes and outer blanks. Of a multi-line
    one: where it holds a traceback, the exception's own line (the last one that is not indented
    frame code or traceback furniture); else its first non-blank line, joined with the next where
    it only announces it ("ort failed:").
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):  # a blank CSV cell reads as NaN
        return ""
    lines = [ln.rstrip() for ln in strip_ansi(str(text)).splitlines() if ln.strip()]
    if not lines:
        return ""
    if any(ln.lstrip().startswith("Traceback (most recent call last)") for ln in lines):
        said = [ln for ln in lines if not ln[:1].isspace() and not _TRACEBACK_NOISE.fullmatch(ln)]
        return (said or lines)[-1].strip()
    first = lines[0].strip()
    return f"{first} {lines[1].strip()}" if first.endswith(":") and len(lines) > 1 else first


READABLE_CHARS = 200
# The suite's diagnoses follow the raw error they explain ("<what>: <tool's error>; <what it
# means>", suite/judge/hops.py) and exporter summaries end on "(Caused by: ...)": the clause that
# names the cause is the message's last one, after the long raw part.
_CAUSE_CLAUSE = re.compile(r"(?:; (?P<clause>[^;]+)| (?P<caused>\(Caused by:[^()]*\)))$")
_MIN_HEAD = 60  # characters of the message's start kept however long its cause clause is
# ONNX Runtime's preamble to a kernel's own words; a summary keeps the code, the node and the words.
_ORT_PREAMBLE = re.compile(
    r"\[ONNXRuntimeError\] : \d+ : (?P<code>\w+) : Non-zero status code returned while running "
    r"(?P<op>\w+) node\. Name:'(?P<node>[^']*)' Status Message: "
)


def readable_message(text: object, limit: int = READABLE_CHARS) -> str:
    """A message cut for a summary: about `limit` characters, never inside the clause naming the cause.

    The text is clean_message's, whitespace collapsed, ONNX Runtime's preamble shortened
    ("[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Non-zero status code returned while running Gemm
    node. Name:'/fc/Gemm' Status Message: " to "ONNX Runtime INVALID_ARGUMENT in Gemm '/fc/Gemm': ").
    Where it is longer than `limit`, it is cut at a word before `limit`, unless it ends on a cause
    clause (see _CAUSE_CLAUSE) that the cut would lose or split: then the middle goes instead (the
    head to the room left, " ...", the whole clause). The full text stays in diff.csv.
    """
    line = " ".join(clean_message(text).split())
    line = _ORT_PREAMBLE.sub(r"ONNX Runtime \g<code> in \g<op> '\g<node>': ", line)
    if len(line) <= limit:
        return line
    match = _CAUSE_CLAUSE.search(line)
    cause = match and (match.group("clause") or match.group("caused"))
    if not match or not cause or len(cause) > limit - _MIN_HEAD:
        return _cut(line, limit - 3) + "..."
    room = max(_MIN_HEAD, limit - len(cause) - 6)
    head = line[: match.start()]
    if len(head) > room:
        head = _cut(line, room) + " ..."
    return f"{head}{'; ' if match.group('clause') else ' '}{cause}"


def _cut(text: str, chars: int) -> str:
    """`text` cut to at most `chars`, at a space where one is near the end (a word is not split)."""
    cut = text[:chars]
    space = cut.rfind(" ")
    return (cut[:space] if space > chars * 0.8 else cut).rstrip()
