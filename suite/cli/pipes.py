"""Every command line's main: a reader that stops early (`... | head -1`) ends it quietly."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import ParamSpec

# What a shell reports for a process a closed pipe ended (128 + SIGPIPE), as for `yes | head -1`.
EXIT_CLOSED_PIPE = 128 + 13

_Args = ParamSpec("_Args")


def quiet_on_closed_pipe(main: Callable[_Args, int]) -> Callable[_Args, int]:
    """Decorate a command line's main: a stdout closed early ends it with EXIT_CLOSED_PIPE, no traceback.

    On main itself, not only in `if __name__ == "__main__":`, so that `python -m suite.cli.<name>`
    and the installed `zoo-<name>` scripts (pyproject.toml, which call main) behave alike.

    Args:
        main: the command line, returning its exit status.

    Returns:
        main, returning its own status, or EXIT_CLOSED_PIPE when stdout closed before all was written.
    """

    @functools.wraps(main)
    def run(*args: _Args.args, **kwargs: _Args.kwargs) -> int:
        try:
            status = main(*args, **kwargs)
            # Flush here, where a closed pipe can still be caught: Python's own flush at exit would
            # print "Exception ignored ... BrokenPipeError" instead.
            sys.stdout.flush()
        except BrokenPipeError:
            # The reader is gone; nothing more can reach it. Point stdout at /dev/null so that the
            # interpreter's flush at exit finds nothing it cannot write.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return EXIT_CLOSED_PIPE
        return status

    return run
