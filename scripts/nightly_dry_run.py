"""The nightly workflow's steps, run here: two shards per night on separate "runners" (report
folders), the diff job importing them, diffing against `nightly`, promoting and keeping the
baseline's folder, which the next night's shards restore and time A/B against.

    python scripts/nightly_dry_run.py WORK_DIR [--slowdown 5]

Night 1 promotes the first baseline; night 2 slows one model (`slowable`: 20 blocks of work plus
SLOWDOWN blocks whose result is multiplied by zero, 5 = +25%) and its diff must fail on latency
naming exactly that model; night 3 slows nothing and must pass. The selection is small (the
slowable model and mlp, TorchScript opset 17, ort and latency) so the dry run takes minutes; the
commands are the workflow's (`make zoo` is `python -m suite.cli.run_profile suite/matrix
--zoo-profile default -v ...`).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.slowable_zoo import write_module  # noqa: E402

PY = sys.executable


def run(command: list[str], cwd: Path) -> int:
    print("$", " ".join(command), flush=True)
    return subprocess.run(command, cwd=cwd, check=False).returncode


def night(work: Path, number: int, extra: int) -> int:
    """One night: 2 shards, then the diff job. Returns the diff's exit status (0 on the first night)."""
    run_id = f"nightly-{number}-1"
    module = write_module(work / f"night{number}_models.py", {"slowable": extra})
    selection = [f"--zoo-module={module}", "--zoo-models=slowable,mlp", "--zoo-exporters=torchscript",
                 "--zoo-opsets=17", "--zoo-paths=ort,latency", "--zoo-latency-seconds=0.5"]  # fmt: skip
    cache = work / "cache" / "baseline"  # the Actions cache entry zoo-baseline-*
    downloads = work / f"night{number}" / "shard-runs"
    for shard in (1, 2):
        runner = work / f"night{number}" / f"shard{shard}"  # a fresh runner
        runner.mkdir(parents=True)
        if cache.is_dir():  # Restore the nightly baseline
            shutil.copytree(cache, runner / "reports" / "baseline")
        ab = ["--zoo-baseline", str(runner / "reports" / "baseline"), "--zoo-fail-on", "none"] if cache.is_dir() else []
        code = run(
            [PY, "-m", "suite.cli.run_profile", str(ROOT / "suite" / "matrix"), "--rootdir", str(ROOT),
             "--zoo-profile", "default", "-q", "-p", "no:cacheprovider", *selection,
             f"--zoo-shard={shard}/2", f"--zoo-run-id={run_id}", "--zoo-history=none",
             f"--zoo-report-dir={runner / 'reports'}", *ab],
            runner,
        )  # fmt: skip
        if code not in (0, 1):
            raise SystemExit(f"shard {shard} of night {number} exited {code}")
        shutil.copytree(runner / "reports" / "runs", downloads / f"zoo-shard-{shard}")  # upload, then download
    job = work / f"night{number}" / "diff"
    (job / "reports").mkdir(parents=True)
    history = work / "cache" / "history.sqlite"
    if history.is_file():
        shutil.copy(history, job / "reports" / "history.sqlite")
    folders = sorted(str(p) for p in downloads.glob("*/*"))
    assert run([PY, "-m", "suite.cli.history", "import", *folders], job) == 0
    shown = subprocess.run([PY, "-m", "suite.cli.history", "show-baseline", "nightly"], cwd=job, check=False)
    code = 0
    if shown.returncode == 0:
        code = run([PY, "-m", "suite.cli.history", "diff", run_id, "--baseline", "nightly", "--out", "reports/diff",
                    "--fail-on", "correctness,removed,latency"], job)  # fmt: skip
    if code == 0:
        assert run([PY, "-m", "suite.cli.history", "promote", run_id, "nightly"], job) == 0
        assert run([PY, "-m", "suite.cli.merge_shards", *folders, "--out", "reports/baseline"], job) == 0
        shutil.rmtree(cache, ignore_errors=True)
        shutil.copytree(job / "reports" / "baseline", cache)  # Save the baseline's folder
        history.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(job / "reports" / "history.sqlite", history)  # Save the history database
    return code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path)
    parser.add_argument("--slowdown", type=int, default=5)
    args = parser.parse_args()
    work = args.work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    started = time.monotonic()
    first = night(work, 1, 0)
    slowed = night(work, 2, args.slowdown)
    calm = night(work, 3, 0)
    diff = work / "night2" / "diff" / "reports" / "diff" / "diff.csv"
    import pandas as pd

    frame = pd.read_csv(diff)
    called = sorted(frame.loc[frame["latency_verdict"] == "slower", "case_id"])
    print(f"night 1: {first} (first baseline); night 2 (+{args.slowdown * 5}% on slowable): diff exit {slowed}, ")
    print(f"slower: {called}; night 3 (nothing slowed): diff exit {calm}; {time.monotonic() - started:.0f} s")
    ok = first == 0 and slowed == 1 and all(c.startswith("slowable-") for c in called) and called and calm == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
