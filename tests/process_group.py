"""Whether a process group a test started has ended, workers and all."""

import os
import time

import pytest


def assert_group_ended(pid: int, seconds: float = 5.0) -> None:
    """Fail unless every process of the group led by `pid` (a run started with start_new_session) has ended."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    pytest.fail(f"processes of the run (process group {pid}) are still alive after it ended")
