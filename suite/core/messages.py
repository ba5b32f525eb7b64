"""Turning exceptions and long texts into the one-line messages rows carry."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

MESSAGE_CHARS = 300
DETAIL_CHARS = 4000


def first_line(exc: BaseException | str, limit: int = MESSAGE_CHARS) -> str:
    """The informative line of an exception's text (see informative_line), cut to `limit` characters."""
    line = informative_line(str(exc))
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
_TRACEBACK_HEADING = "Traceback (most recent call last)"
# TF's autograph rewrites an exception raised inside a tf.function into this heading, the frames
# (each with its source line) and, after a blank line, the original "Type: message" (indented).
_AUTOGRAPH_HEADING = "in user code:"
_FRAME = re.compile(r'File "(?P<path>[^"]+)", line (?P<line>\d+), in (?P<function>[^\s*]+)')
# A line that names an exception and nothing else: no payload or an empty one ("KeyError: ''",
# "ValueError:", "AssertionError"), also behind a wrapper's name ("MultilineMessageKeyError: KeyError: ''").
_EXCEPTION_NAME = r"[A-Za-z_][\w.]*(?:Error|Exception|Warning|Exit|Interrupt)"
_EMPTY_PAYLOAD = re.compile(rf"(?:{_EXCEPTION_NAME}:\s*)*(?:{_EXCEPTION_NAME}:?\s*)?(?:''|\"\"|None)?")


@dataclass(frozen=True)
class Frame:
    """One frame of a traceback: where, and the source line it was at ("" where none is shown)."""

    path: str
    line: int
    function: str
    code: str

    def place(self) -> str:
        """ "FILE:LINE in FUNC: CODE", as raised_at words it."""
        where = f"{self.path.rsplit('/', 1)[-1]}:{self.line} in {self.function}"
        return f"{where}: {self.code}" if self.code else where


@dataclass(frozen=True)
class FramedError:
    """An error text that lists frames before the exception: a Python traceback or autograph's "in user code:"."""

    frames: tuple[Frame, ...]
    exception: str  # the exception's informative line ("Type: message")
    said_nothing: bool  # the exception has an empty payload: only its frames tell what failed

    def summary(self) -> str:
        """The exception's line; where it says nothing, with where it was raised (the last frame)."""
        if self.said_nothing and self.frames:
            return f"{self.exception} raised at {self.frames[-1].place()}"
        return self.exception


def says_nothing(line: str) -> bool:
    """Whether `line` only names an exception, with no payload or an empty one ("KeyError: ''")."""
    return bool(_EMPTY_PAYLOAD.fullmatch(line.strip()))


def informative_line(text: str) -> str:
    """The line of a (multi-line) error text that says what went wrong, without escape codes.

    Where the text opens with a traceback or autograph's "in user code:" frames, the exception's
    own line, with where it was raised when it says nothing ("KeyError: ''"); else the first
    non-blank line that is more than an exception's name with an empty payload (the first line
    where all are), joined with the next where it only announces it ("ort failed:"). A traceback
    further down is left alone: an exporter's first line names its failure, what it quotes below
    is context (suite.report.frontier reads those first lines).
    """
    lines = [ln.rstrip() for ln in strip_ansi(text).splitlines()]
    said = [ln.strip() for ln in lines if ln.strip()]
    if not said:
        return ""
    framed = framed_error(lines) if _opens_frames(said[0]) else None
    if framed is not None:
        return framed.summary()
    if said[0].endswith(_TF_GRAPH_HEADING):
        return tf_graph_error([ln for ln in lines if ln.strip()])
    said = [ln for ln in said if not says_nothing(ln)] or said[:1]
    first = said[0]
    return f"{first} {said[1]}" if first.endswith(":") and len(said) > 1 else first


# TF's error from running a graph (a SavedModel's signature, a tf.function): this heading, "Detected at
# node NODE defined at (most recent call last):", the Python frames that defined it (or "<stack traces
# unavailable>"), then the kernel's own error, then "[[{{node NODE}}]] [Op:...]".
_TF_GRAPH_HEADING = "Graph execution error:"
_TF_DETECTED = re.compile(r"Detected at node '?(?P<node>[^' ]+)'? defined at")
_TF_NOT_THE_ERROR = re.compile(r"Detected at node .*|<stack traces unavailable>|File \".*|Node: .*|\[\[.*")


def tf_graph_error(said: list[str]) -> str:
    """The kernel's error in a TF graph execution error's non-blank lines (indents kept), with the node it ran
    ("InvalidArgumentError: Matrix size-incompatible: In[0]: [2,32], In[1]: [64,10] (at node model/MatMul)"); the
    heading where the text has nothing after it."""
    node = next((m["node"] for m in map(_TF_DETECTED.match, map(str.strip, said)) if m), "")
    # Frames come as a "File" line and its source line, both indented: the error is not.
    raw = [ln for ln in said[1:] if not _TF_NOT_THE_ERROR.match(ln.strip())]
    error = next((ln.strip() for ln in raw if not ln.startswith((" ", "\t"))), "")
    if not error:
        return said[0].strip()
    kind = said[0].strip().removesuffix(_TF_GRAPH_HEADING)  # "InvalidArgumentError: " where the type was put first
    return f"{kind}{error} (at node {node})" if node else f"{kind}{error}"


def _opens_frames(line: str) -> bool:
    # The heading may follow the exception's type where the text was passed on ("KeyError: in user code:").
    return line.startswith(_TRACEBACK_HEADING) or line.endswith(_AUTOGRAPH_HEADING)


def framed_error(lines: list[str]) -> FramedError | None:
    """The frames and exception of a traceback or autograph error in `lines`, or None for other texts."""
    stripped = [ln.strip() for ln in lines]
    # The heading may follow the exception's type where the text was passed on ("KeyError: in user code:").
    heading = next((i for i, ln in enumerate(stripped) if ln.endswith(_AUTOGRAPH_HEADING)), None)
    traceback = next((i for i, ln in enumerate(stripped) if ln.startswith(_TRACEBACK_HEADING)), None)
    if traceback is not None and (heading is None or traceback < heading):
        return _python_traceback(lines)
    return None if heading is None else _autograph_error(lines[heading:])


def _autograph_error(lines: list[str]) -> FramedError | None:
    """Autograph's frames (each is a "File" line and its source line) and the exception after them."""
    frames, end = [], 1  # lines[0] is the heading
    for index, line in enumerate(lines):
        match = _FRAME.match(line.strip())
        if match:
            code = lines[index + 1].strip() if index + 1 < len(lines) else ""
            frames.append(_frame(match, "" if _FRAME.match(code) else code))
            end = index + 2
    cause = [ln.strip() for ln in lines[end:] if ln.strip()]
    if not cause:
        return None
    return _exception_of(tuple(frames), cause)


def _python_traceback(lines: list[str]) -> FramedError:
    """A Python traceback's frames and exception: its last line that is not frame code or furniture.

    An exception that autograph rewrote is read as autograph's text (its frames say more than ours).
    """
    frames = []
    for index, line in enumerate(lines):
        match = _FRAME.match(line.strip())
        if match:
            frames.append(_frame(match, _source_after(lines, index)))
    said = [i for i, ln in enumerate(lines) if _says_what(ln)]
    if not said:
        said = [i for i, ln in enumerate(lines) if ln.strip()]
    exception = lines[said[-1]].strip()
    if exception.endswith(_AUTOGRAPH_HEADING):
        rewritten = _autograph_error(lines[said[-1] :])
        if rewritten is not None:
            return rewritten
    return FramedError(tuple(frames), exception, says_nothing(exception))


def _says_what(line: str) -> bool:
    """Whether a traceback's line is an exception's own (not indented frame code, not furniture)."""
    return bool(line.strip()) and not line[:1].isspace() and not _TRACEBACK_NOISE.fullmatch(line)


def _exception_of(frames: tuple[Frame, ...], cause: list[str]) -> FramedError:
    """The exception's first informative line among `cause`, or its first line where none is."""
    informative = [ln for ln in cause if not says_nothing(ln)]
    return FramedError(frames, (informative or cause)[0], not informative)


def _frame(match: re.Match[str], code: str) -> Frame:
    return Frame(match["path"], int(match["line"]), match["function"], code)


def _source_after(lines: list[str], index: int) -> str:
    """The source line a traceback shows below the frame at `index` (indented deeper), or ""."""
    if index + 1 >= len(lines):
        return ""
    frame, below = lines[index], lines[index + 1]
    deeper = len(below) - len(below.lstrip()) > len(frame) - len(frame.lstrip())
    if not deeper or _FRAME.match(below.strip()) or _TRACEBACK_NOISE.fullmatch(below):
        return ""
    return below.strip()


def clean_message(text: object) -> str:
    """A row's message as the diff and the reports show it: one informative line, no escape codes.

    A one-line message comes back whole, less its escape codes and outer blanks; a multi-line one
    as informative_line picks it, except that a traceback anywhere in it gives its exception's line
    (a row's message is one line: a traceback in one is the text that matters).
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):  # a blank CSV cell reads as NaN
        return ""
    framed = framed_error([ln.rstrip() for ln in strip_ansi(str(text)).splitlines()])
    return framed.summary() if framed is not None else informative_line(str(text))


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
