"""The main job (`make zoo`): a profile's untimed paths on every core, then its timed paths alone.

Correctness cases give the same rows under pytest-xdist as serially (tests/test_plugin_e2e.py);
timings need a quiet machine, one case at a time: the latency path (which times every variant,
the quantized ones included, once). So where a selection has both kinds and the machine has
more than one core, the job runs two pytest invocations that share one run id: the untimed
paths (ort, tf, version, optimize, quantize) with `-n <cores>`, then the timed ones serially with
`--zoo-continue`, which adds their rows to the same run folder and writes one report (and one
history run, in two parts) from all of them. A baseline (`--zoo-baseline`) is diffed once, by
the second invocation, against the whole run. A selection of untimed paths only (the quick and
corpus profiles) is one invocation with `-n <cores>`. Otherwise (one core, `-n` given, or timed
paths only) it is a single pytest invocation with the arguments as given.

Usage: python -m suite.cli.run_profile [pytest arguments...]   (e.g. suite/matrix --zoo-profile default -v)
Exit status: a usage or internal error of either part wins; with a baseline, the diff's verdict
over the whole run (6 or 0); else 1 when any case failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence

from suite.cli.pipes import quiet_on_closed_pipe
from suite.core.run_folder import EXIT_REGRESSION
from suite.paths import path_named
from suite.selection.profiles import PATHS, profiles

_PARALLEL_FLAGS = ("-n", "--numprocesses", "--dist")


def option(args: Sequence[str], name: str) -> str | None:
    """The value of `name` in pytest arguments (last one wins), or None."""
    value = None
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            value = args[index + 1]
        elif arg.startswith(name + "="):
            value = arg.split("=", 1)[1]
    return value


def without(args: Sequence[str], names: Sequence[str]) -> list[str]:
    """`args` less the named options and their values."""
    kept: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in names:
            skip = True
        elif not any(arg.startswith(n + "=") for n in names):
            kept.append(arg)
    return kept


def selected_paths(args: Sequence[str]) -> tuple[str, ...]:
    """The paths the arguments select (an unknown profile or path is left for pytest to refuse)."""
    named = option(args, "--zoo-paths")
    if named:
        return tuple(p.strip() for p in named.split(",") if p.strip())
    profile = profiles().get(option(args, "--zoo-profile") or "default")
    return profile.paths if profile else PATHS


def plan(args: Sequence[str], cores: int, run_id: str) -> list[list[str]]:
    """The pytest invocations (argument lists) the job runs, in order."""
    paths = selected_paths(args)
    parallel_given = any(a in _PARALLEL_FLAGS or a.startswith(("-n", "--numprocesses=")) for a in args)
    # Paths whose rows carry timings run serially, after the others.
    timed = [p for p in paths if p in PATHS and path_named(p).timed]
    untimed = [p for p in paths if p not in timed]
    if cores < 2 or parallel_given or not untimed:
        return [list(args)]
    if not timed:  # correctness only (the quick and corpus profiles): one invocation on every core
        return [[*args, *_parallel(cores)]]
    base = without(args, ("--zoo-paths", "--zoo-run-id", "--zoo-baseline"))
    baseline = option(args, "--zoo-baseline")
    first = [*base, "--zoo-paths", ",".join(untimed), *_parallel(cores), "--zoo-run-id", run_id]
    second = [*base, "--zoo-paths", ",".join(timed), "--zoo-run-id", run_id, "--zoo-continue"]
    return [first, second + (["--zoo-baseline", baseline] if baseline else [])]


# xdist's default ("load") hands each process its share up front, so one process can be left with a
# queue of slow cases while the other idles: the default profile with onnx2tf ran the last ~35 min of
# its 76-min first part on one of 2 cores that way (2026-12-06, 67 cases on one process, 476 on the
# other); worksteal moves queued cases to the idle process.
def _parallel(cores: int) -> list[str]:
    """pytest-xdist's arguments for `cores` processes sharing the cases out as they free up."""
    return ["-n", str(cores), "--dist", "worksteal"]


def combined_status(codes: Sequence[int], baseline: bool) -> int:
    """A usage or internal error of any part wins; with a baseline, the last part's code is the
    diff's verdict over the whole run (6 or 0: known failures it accepts are not news); else 1
    when any part had failures."""
    serious = [c for c in codes if c not in (0, 1, EXIT_REGRESSION)]
    if serious:
        return serious[0]
    if baseline:
        return codes[-1]
    return max(codes)


@quiet_on_closed_pipe
def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    run_id = option(args, "--zoo-run-id") or os.environ.get("ZOO_RUN_ID") or time.strftime("%Y%m%d-%H%M%S-make")
    invocations = plan(args, os.cpu_count() or 1, run_id)
    codes: list[int] = []
    for index, pytest_args in enumerate(invocations, 1):
        if len(invocations) > 1:
            part = "untimed paths on every core" if index == 1 else "timed paths, alone"
            print(f"zoo-suite: part {index} of {len(invocations)} of run {run_id}: {part}", flush=True)
        code = subprocess.run([sys.executable, "-m", "pytest", *pytest_args], check=False).returncode
        codes.append(code)
        if code not in (0, 1):  # a usage error, an interrupted run: the next part would only repeat it
            break
    return combined_status(codes, baseline=option(args, "--zoo-baseline") is not None)


if __name__ == "__main__":
    sys.exit(main())
