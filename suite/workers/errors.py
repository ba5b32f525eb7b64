"""How a worker call can fail, as data the rest of the harness can read without the worker machinery.

suite.workers.isolate raises these; paths and the pipeline classify them into row statuses.
"""

from __future__ import annotations

import re
from pathlib import Path

# The harness's own code: an exception raised here that means "this code is wrong" is a bug of
# ours, never a verdict on the model.
_SUITE_DIR = str(Path(__file__).resolve().parent.parent)  # suite/, this file being suite/workers/errors.py
_PROGRAMMING_ERRORS = {
    "NameError",
    "UnboundLocalError",
    "AttributeError",
    "TypeError",
    "ImportError",
    "ModuleNotFoundError",
    "AssertionError",
    "KeyError",
    "IndexError",
    "SyntaxError",
}
UNRESOLVABLE = "suite.workers.isolate.UnresolvableCall"
# TF's autograph re-raises a KeyError from a tf.function as this subclass, named KeyError (its
# __name__) but not by its qualified name, which is what crosses the process boundary: rows name
# the exception the code raised.
_AUTOGRAPH_WRAPPERS = {"MultilineMessageKeyError": "KeyError"}
_FRAME = re.compile(r'^  File "([^"]+)", line (\d+), in (.+)$', re.MULTILINE)
# How traceback.format_exception joins an exception to the one it was raised from (`raise ... from`):
# the cause is printed first.
_DIRECT_CAUSE = "\nThe above exception was the direct cause of the following exception:\n"
_EXCEPTION_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*): (?P<message>.+)$", re.MULTILINE)


class WorkerError(Exception):
    """Base of the failures a worker call can end in."""


class WorkerCrashed(WorkerError):
    """The worker process died during the call."""


class WorkerTimeout(WorkerError):
    """The call did not return in time; the worker was killed."""


class RemoteError(WorkerError):
    """The called function raised inside the worker.

    Attributes:
        type_name: Qualified name of the exception class raised remotely.
        message: str() of that exception.
        remote_traceback: The formatted traceback, for the detail column.
    """

    def __init__(self, type_name: str, message: str, remote_traceback: str) -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.message = message
        self.remote_traceback = remote_traceback

    @property
    def short_type(self) -> str:
        """The exception's class name ("KeyError"), autograph's wrapper of it named as what it wraps."""
        name = self.type_name.rsplit(".", 1)[-1]
        return _AUTOGRAPH_WRAPPERS.get(name, name)

    @property
    def harness_bug(self) -> str:
        """Where zoo-suite's own code failed ("suite/x.py:12 in f"), or "" when the failure is not ours.

        Ours: the call could not be resolved, or a programming error (TypeError, NameError ...)
        raised by a frame of the suite package itself, not by a library it called.
        """
        frames = _FRAME.findall(self.remote_traceback)
        if self.type_name == UNRESOLVABLE:
            return "the worker call"
        if not frames or self.short_type not in _PROGRAMMING_ERRORS:
            return ""
        path, line, function = frames[-1]
        if not path.startswith(_SUITE_DIR):
            return ""
        return f"suite{path[len(_SUITE_DIR) :]}:{line} in {function}"

    @property
    def root_cause(self) -> tuple[str, str] | None:
        """(class name, message) of the exception this one was raised from, first in its chain of
        `raise ... from` (a library wrapping a refusal in its own error, e.g. onnx-ir's SerdeError
        around "NotImplementedError: Map types are not supported yet"); None without a cause."""
        if _DIRECT_CAUSE not in self.remote_traceback:
            return None
        first = self.remote_traceback.split(_DIRECT_CAUSE, 1)[0]
        lines = list(_EXCEPTION_LINE.finditer(first))
        if not lines:
            return None
        return lines[-1]["type"].rsplit(".", 1)[-1], lines[-1]["message"].strip()
