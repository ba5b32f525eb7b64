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
_FRAME = re.compile(r'^  File "([^"]+)", line (\d+), in (.+)$', re.MULTILINE)


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
        return self.type_name.rsplit(".", 1)[-1]

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
