import time

import pytest

from suite.core import inherent
from suite.workers.isolate import RemoteError, Worker, WorkerCrashed, WorkerTimeout

F = "tests.worker_funcs"


@pytest.fixture
def worker():
    with Worker("test") as w:
        yield w


def test_worker_is_reused_across_calls(worker: Worker) -> None:
    assert worker.call(f"{F}:add", 2, 3) == 5
    first = worker.call(f"{F}:pid")
    assert worker.call(f"{F}:pid") == first
    assert worker.starts == 1


def test_remote_exception_comes_back_as_data(worker: Worker) -> None:
    with pytest.raises(RemoteError) as info:
        worker.call(f"{F}:raise_value_error", "bad input")
    assert info.value.short_type == "ValueError"
    assert info.value.message == "bad input"
    assert "raise_value_error" in info.value.remote_traceback
    assert worker.call(f"{F}:add", 1, 1) == 2
    assert worker.starts == 1  # an exception is not a crash


def test_crash_is_reported_and_worker_restarts(worker: Worker) -> None:
    before = worker.call(f"{F}:pid")
    with pytest.raises(WorkerCrashed, match="SIGSEGV"):
        worker.call(f"{F}:segfault")
    after = worker.call(f"{F}:pid")
    assert after != before
    assert worker.starts == 2


def test_timeout_kills_and_restarts(worker: Worker) -> None:
    with pytest.raises(WorkerTimeout, match=r"did not finish within 0\.5 s"):
        worker.call(f"{F}:sleep", 30, timeout=0.5)
    assert worker.call(f"{F}:sleep", 0, timeout=30) == "woke"
    assert worker.starts == 2


def test_a_bug_in_the_harness_is_told_apart_from_a_failure_of_what_it_ran(worker: Worker) -> None:
    from suite.core.record import Status
    from suite.run.pipeline import classify_worker_error

    def failure(ref: str, *args: object) -> RemoteError:
        with pytest.raises(RemoteError) as info:
            worker.call(ref, *args)
        return info.value

    wrong_call = failure("suite.judge.inputs:dims_label", 5)  # our code called with what it cannot take
    assert wrong_call.harness_bug.startswith("suite/judge/inputs.py:") and "dims_label" in wrong_call.harness_bug
    typo = failure("suite.judge.inputs:no_such_function")
    assert typo.harness_bug == "the worker call" and "cannot resolve" in typo.message
    assert failure(f"{F}:raise_value_error", "bad model").harness_bug == ""  # raised on purpose
    assert failure("json:loads", 5).harness_bug == ""  # a TypeError from a library, not from us

    verdict = classify_worker_error(wrong_call, "export")
    assert verdict.status == Status.CRASH  # never export_error, and crash rows are never cached
    assert verdict.message.startswith("harness error at suite/judge/inputs.py:") and "not a verdict" in verdict.message
    assert classify_worker_error(failure(f"{F}:raise_value_error", "x"), "export").status == Status.EXPORT_ERROR
    assert worker.starts == 1


def test_only_the_functions_own_time_counts_as_inherent_work(worker: Worker) -> None:
    """The worker times the function itself: starting the process (importing, spawning) and
    moving data between processes are the harness's overhead, not inherent work."""
    before = inherent.snapshot()
    started = time.perf_counter()
    worker.call(f"{F}:sleep", 0.3)  # the first call also starts the worker process
    elapsed = time.perf_counter() - started
    spent = inherent.InherentTime.since(before).seconds
    assert 0.3 <= spent["worker"] < 0.3 + 0.1
    assert elapsed > spent["worker"]  # the start was not counted
    assert spent["ort_session"] == spent["ort_run"] == spent["timed_loops"] == 0.0


def test_a_preloading_worker_forks_fresh_processes_that_already_hold_the_imports() -> None:
    """A worker with `preload` is forked from a server that imported those modules once: each
    (re)start is a new process with the imports done and no state left by earlier calls."""
    with Worker("preloading", preload=("tests.worker_funcs", "sqlite3")) as worker:
        assert worker.call(f"{F}:imported", "sqlite3")  # imported by the server, not by the call
        worker.call(f"{F}:remember", 1)
        first = worker.call(f"{F}:pid")
        assert worker.call(f"{F}:remembered") == [1]
        worker.recycle()
        assert worker.call(f"{F}:remembered") == []  # a new process: nothing left from before
        assert worker.call(f"{F}:pid") != first and worker.starts == 2
        with pytest.raises(WorkerCrashed):
            worker.call(f"{F}:segfault")
        assert worker.call(f"{F}:add", 2, 3) == 5  # and a crash still costs only the call


def test_a_worker_that_holds_more_than_it_may_keep_after_a_call_is_ended() -> None:
    """What a worker keeps after a call counts against the machine while it idles: past keep_bytes
    the process ends, and the next call starts a new one (its state gone)."""
    with Worker("test", keep_bytes=200 << 20) as worker:
        first = worker.call(f"{F}:hold", 50)
        assert worker.recycled == 0 and worker.call(f"{F}:pid") == first  # 50 MB more: kept
        worker.call(f"{F}:hold", 300)
        assert worker.recycled == 1
        assert worker.call(f"{F}:remembered") == [] and worker.starts == 2
