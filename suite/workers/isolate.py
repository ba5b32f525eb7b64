"""Run framework work in a reusable worker process.

A Worker is started once (importing torch or TensorFlow costs seconds) and
reused for many calls. A crash (segfault, os._exit) or a hang ends only the
call in flight: the caller gets WorkerCrashed or WorkerTimeout, the process is
discarded and a fresh one starts on the next call.
"""

from __future__ import annotations

import ctypes
import importlib
import multiprocessing
import os
import signal
import time
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from suite.core import inherent
from suite.workers.errors import UNRESOLVABLE, RemoteError, WorkerCrashed, WorkerError, WorkerTimeout

__all__ = ["UNRESOLVABLE", "RemoteError", "Worker", "WorkerCrashed", "WorkerError", "WorkerTimeout"]

_POLL_SECONDS = 0.2
_PEAK_RSS = "suite.core.budget:peak_rss"


WorkerFunction = Callable[..., Any] | str


def function_ref(function: WorkerFunction) -> str:
    """ "module:qualname" of a module-level function (a string is taken as it is)."""
    if isinstance(function, str):
        return function
    return f"{function.__module__}:{function.__qualname__}"


def _resolve(ref: str) -> Any:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def _serve(conn: Connection, initializer: str | None, init_args: Sequence[Any]) -> None:
    if initializer:
        _resolve(initializer)(*init_args)
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        ref, args, kwargs = message
        try:
            function = _resolve(ref)
        except Exception as exc:  # noqa: BLE001 - a call that names nothing is the harness's bug
            conn.send(("error", (UNRESOLVABLE, f"cannot resolve {ref!r}: {exc!r}", traceback.format_exc()), 0.0))
            continue
        # The function's own time goes back with its answer: the caller counts it as inherent work
        # (suite.core.inherent), and the process start and the pickling around it as overhead.
        start = time.perf_counter()
        try:
            result = function(*args, **kwargs)
            conn.send(("ok", result, time.perf_counter() - start))
        except BaseException as exc:  # noqa: BLE001 - everything goes back as data
            kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
            conn.send(("error", (kind, str(exc), traceback.format_exc()), time.perf_counter() - start))
        _return_free_memory()


def _return_free_memory() -> None:
    """Give the heap glibc keeps after a call back to the system: an idle worker should hold only what it
    still uses (the kernel's OOM killer counts what it holds)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def resident_bytes(pid: int) -> int:
    """A process's own resident memory now, less the pages it shares with files (its libraries): what
    the OOM killer weighs; 0 where /proc cannot say."""
    try:
        fields = Path(f"/proc/{pid}/statm").read_text().split()
        pages = int(fields[1]) - int(fields[2])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def _describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "no exit code"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name} (exit {exitcode})"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


class Worker:
    """One lazily started worker process running functions named "module:function".

    Args:
        name: Label used in messages ("torch", "tf").
        initializer: a module-level function (or its "module:function") run once at worker start.
        init_args: Arguments for the initializer (picklable).
        preload: Modules to import once, in a fork server every worker process of this kind is
            forked from (multiprocessing's "forkserver"); empty: each process is spawned afresh.
            The server is shared by every preloading Worker of the process (one list: the first wins).
        keep_bytes: A process that still holds more than this after a call is ended (the next call starts
            a new one): the memory budgets assume a worker holds its peak only while it works, and an idle
            torch worker that kept 10 GB after a large model was the process the kernel's OOM killer
            chose. None: never.
    """

    def __init__(
        self,
        name: str,
        initializer: WorkerFunction | None = None,
        init_args: Sequence[Any] = (),
        preload: Sequence[str] = (),
        keep_bytes: int | None = None,
    ) -> None:
        self.name = name
        self.keep_bytes = keep_bytes
        self.recycled = 0  # processes ended for holding more than keep_bytes after a call
        self._initializer = function_ref(initializer) if initializer else None
        self._init_args = tuple(init_args)
        if preload:
            # Each process is forked from a server that imported `preload` once and ran nothing:
            # as fresh as a spawned one, without paying the imports again at every (re)start.
            self._ctx = multiprocessing.get_context("forkserver")
            self._ctx.set_forkserver_preload(list(preload))
        else:
            self._ctx = multiprocessing.get_context("spawn")
        self._process: Any = None
        self._conn: Connection | None = None
        self.starts = 0
        self.calls = 0
        self.peak_rss = 0  # the largest peak resident memory of its processes that closed in order, bytes

    def _start(self) -> None:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(
            target=_serve, args=(child, self._initializer, self._init_args), name=f"zoo-{self.name}-worker", daemon=True
        )
        process.start()
        child.close()
        self._process, self._conn = process, parent
        self.starts += 1

    def call(self, function: WorkerFunction, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Call `function` (a module-level function, or its "module:function") in the worker.

        The worker imports the function by name: a function object only saves the caller
        from spelling that name, and lets tools and readers follow the call.

        Raises:
            RemoteError: the function raised.
            WorkerCrashed: the process died during the call.
            WorkerTimeout: no answer within `timeout` seconds.
        """
        ref = function_ref(function)
        if self._process is None or not self._process.is_alive():
            self._discard()
            self._start()
        assert self._conn is not None
        self.calls += 1
        try:
            self._conn.send((ref, args, kwargs))
        except (BrokenPipeError, OSError) as exc:
            exitcode = self._discard()
            raise WorkerCrashed(f"{self.name} worker died before {ref} started: {_describe_exit(exitcode)}") from exc
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._conn.poll(_POLL_SECONDS):
            if not self._process.is_alive() and not self._conn.poll(0):
                exitcode = self._discard()
                raise WorkerCrashed(f"{self.name} worker crashed during {ref}: {_describe_exit(exitcode)}")
            if deadline is not None and time.monotonic() > deadline:
                self._discard(kill=True)
                raise WorkerTimeout(f"{self.name} worker: {ref} did not finish within {timeout:g} s; worker killed")
        try:
            status, payload, seconds = self._conn.recv()
        except (EOFError, OSError) as exc:
            exitcode = self._discard()
            raise WorkerCrashed(f"{self.name} worker crashed during {ref}: {_describe_exit(exitcode)}") from exc
        inherent.add("worker", seconds)
        if ref != _PEAK_RSS and self.keep_bytes and resident_bytes(self._process.pid) > self.keep_bytes:
            self.recycled += 1
            self.recycle()
        if status == "error":
            raise RemoteError(*payload)
        return payload

    def _discard(self, kill: bool = False) -> int | None:
        """Forget the current process (killing it if asked); returns its exit code."""
        process, self._process = self._process, None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if process is None:
            return None
        if kill and process.is_alive():
            process.kill()
        process.join(timeout=10)
        return process.exitcode

    def recycle(self) -> None:
        """End the current process; the next call starts a new one (state left by earlier calls goes)."""
        self.close()

    def close(self) -> None:
        """Ask the worker for its peak memory and to exit, then make sure it has."""
        if self._conn is not None and self._process is not None and self._process.is_alive():
            try:
                self.peak_rss = max(self.peak_rss, int(self.call(_PEAK_RSS, timeout=30)))
            except WorkerError:
                pass  # a worker that cannot answer is discarded below all the same
        if self._conn is not None and self._process is not None and self._process.is_alive():
            try:
                self._conn.send(None)
            except (BrokenPipeError, OSError):
                pass
            self._process.join(timeout=5)
        self._discard(kill=True)

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
