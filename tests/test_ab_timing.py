"""A/B timing: interleaved blocks cancel the machine's drift, and the verdict follows the stated rule."""

import numpy as np
import pytest

from suite.latency_ab.interleaved import (
    FASTER,
    INCONCLUSIVE,
    SLOWER,
    UNCHANGED,
    AbPlan,
    bootstrap_median_interval,
    decide,
    judge,
    time_interleaved,
)


class DriftingMachine:
    """A fake clock: each call costs its base time times the machine's load, and the load drifts
    between blocks by up to a factor of 2 (far more than any effect judged here)."""

    def __init__(self, seed: int) -> None:
        self.now = 0.0
        self.load = 1.0
        self.rng = np.random.default_rng(seed)
        self.calls = 0

    def clock(self) -> float:
        return self.now

    def costing(self, seconds: float):
        def call() -> None:
            self.calls += 1
            if self.calls % 50 == 0:  # the load moves every 50 calls, whoever runs
                self.load = float(np.clip(self.load * self.rng.uniform(0.7, 1.4), 0.5, 2.0))
            self.now += seconds * self.load * self.rng.uniform(0.98, 1.02)

        return call


@pytest.mark.parametrize(
    ("b_cost", "verdict"), [(1.0, UNCHANGED), (1.10, SLOWER), (1.25, SLOWER), (2.0, SLOWER), (0.8, FASTER)]
)
def test_interleaving_sees_the_change_through_a_drifting_load(b_cost: float, verdict: str) -> None:
    machine = DriftingMachine(seed=int(b_cost * 100))
    plan = AbPlan(target_s=0.5, block_s=0.005, warmup_s=0.01)
    times = time_interleaved(machine.costing(1e-3), machine.costing(b_cost * 1e-3), plan, clock=machine.clock)
    result = judge(times, plan)
    assert result.verdict == verdict, result
    assert result.ci_low <= result.ratio <= result.ci_high
    assert abs(result.ratio - b_cost) < 0.03 * b_cost
    assert times.calls_per_block >= 2 and result.pairs == len(times.a_s) >= plan.min_pairs


def test_stored_numbers_under_the_same_drift_would_not_agree() -> None:
    """What interleaving is for: the same A timed twice, minutes apart, differs by the load alone."""
    machine = DriftingMachine(seed=3)
    call = machine.costing(1e-3)
    medians = []
    for _ in range(6):
        start = machine.clock()
        for _ in range(200):
            call()
        medians.append((machine.clock() - start) / 200)
    assert max(medians) / min(medians) > 1.1


@pytest.mark.parametrize(
    ("median", "low", "high", "verdict"),
    [
        (1.10, 1.06, 1.14, SLOWER),
        (1.06, 1.01, 1.12, SLOWER),  # significant, and at least the minimum effect
        (1.03, 1.01, 1.05, UNCHANGED),  # significant but within the band: not a regression
        (1.04, 1.01, 1.08, INCONCLUSIVE),  # cannot rule out 5%, nor show it
        (1.00, 0.90, 1.12, INCONCLUSIVE),  # too noisy to tell
        (0.90, 0.86, 0.93, FASTER),
        (1.00, 0.97, 1.03, UNCHANGED),
    ],
)
def test_the_verdict_rule(median: float, low: float, high: float, verdict: str) -> None:
    assert decide(median, low, high, min_effect=0.05) == verdict


def test_the_interval_narrows_with_more_pairs_and_holds_the_median() -> None:
    rng = np.random.default_rng(0)
    few = rng.lognormal(0.0, 0.05, 30)
    many = rng.lognormal(0.0, 0.05, 300)
    low_few, high_few = bootstrap_median_interval(few, 0.95, 2000)
    low_many, high_many = bootstrap_median_interval(many, 0.95, 2000)
    assert low_few <= np.median(few) <= high_few and low_many <= np.median(many) <= high_many
    assert high_many - low_many < (high_few - low_few) * 0.7


def test_an_environment_worker_says_what_went_wrong_in_one_line(tmp_path) -> None:
    import sys

    from suite.cli.env_ab import EnvAbError, Environment, TimingWorker

    with pytest.raises(SystemExit, match="is not an interpreter"):
        Environment.parse(str(tmp_path / "no-python"))
    environment = Environment.parse(f"{sys.executable}@cpu")
    assert environment.provider == "CPUExecutionProvider"
    worker = TimingWorker(environment)
    try:
        files = {"model": str(tmp_path / "missing.onnx"), "feeds": str(tmp_path / "f"), "outputs": str(tmp_path / "o")}
        with pytest.raises(EnvAbError, match=r"NO_SUCHFILE|doesn't exist|not exist|No such file"):
            worker.ask(op="load", provider=environment.provider, intra_op=1, inter_op=1, **files)
        with pytest.raises(EnvAbError, match="unknown op"):
            worker.ask(op="dance")
    finally:
        worker.close()
    assert worker.process.poll() is not None


def test_rotating_sessions_keep_one_sessions_own_speed_out_of_the_verdict() -> None:
    """Two sessions of one file can differ by several percent for as long as they live. Timed one
    session a side, a slow one against a fast one looks like a regression; rotated, it does not."""
    from suite.latency_ab.interleaved import rotating_side, time_sides

    machine = DriftingMachine(seed=7)
    fast, slow = machine.costing(1e-3), machine.costing(1.12e-3)  # sessions of the same file
    plan = AbPlan(target_s=0.5, block_s=0.005, warmup_s=0.01)
    one_each = judge(time_interleaved(fast, slow, plan, clock=machine.clock), plan)
    assert one_each.verdict == SLOWER
    other_fast, other_slow = machine.costing(1e-3), machine.costing(1.12e-3)
    a = rotating_side([fast, slow], clock=machine.clock)
    b = rotating_side([other_slow, other_fast], clock=machine.clock)
    rotated = judge(time_sides(a, b, plan), plan)
    assert rotated.verdict == UNCHANGED and abs(rotated.ratio - 1) < 0.03, rotated


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{tmp}/no-run", "--a", "{py}", "--b", "{py}"], "env_ab: */no-run is not a run folder (no rows.jsonl); *"),
        (["{tmp}", "--a", "{tmp}/no-python", "--b", "{py}"], "env_ab: */no-python is not an interpreter; *"),
    ],
)
def test_env_ab_bad_input_is_one_line(tmp_path, args: list[str], message: str) -> None:
    import fnmatch
    import subprocess
    import sys

    filled = [a.format(tmp=tmp_path, py=sys.executable) for a in args]
    done = subprocess.run(
        [sys.executable, "-m", "suite.cli.env_ab", *filled], capture_output=True, text=True, check=False
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1 and fnmatch.fnmatch(lines[0], message), done.stderr
