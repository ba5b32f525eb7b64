"""Functions the isolate tests run inside a worker process."""

import os
import signal
import time


def add(a: int, b: int) -> int:
    return a + b


def pid() -> int:
    return os.getpid()


def raise_value_error(text: str) -> None:
    raise ValueError(text)


def segfault() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "woke"


_REMEMBERED: list[object] = []


def remember(value: object) -> None:
    _REMEMBERED.append(value)


def remembered() -> list[object]:
    return list(_REMEMBERED)


def imported(module: str) -> bool:
    import sys

    return module in sys.modules


def hold(megabytes: int) -> int:
    """Keep `megabytes` of touched memory in this process (as a model cache would) and return its pid."""
    import os

    _REMEMBERED.append(bytearray(b"\1" * (megabytes << 20)))
    return os.getpid()
