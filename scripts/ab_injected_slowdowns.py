"""Measure the latency A/B on injected slowdowns: how often 10%, 25% and 2x more work is called slower.

Usage: python scripts/ab_injected_slowdowns.py OUT_DIR [--repeats 10] [--across-folders]

One baseline run times four models that do the same work (20 blocks). Each candidate run then gives
three of them 10%, 25% and 100% more work with the same outputs (2, 5 and 20 extra blocks, a user
module) and leaves the fourth untouched; it times every one A/B against the baseline's artifact
(the untouched one too, with --zoo-ab-identical: an A/A in the same run). Prints the verdicts per
model over the repeats, and writes them to OUT_DIR/verdicts.csv.

With --across-folders it is the nightly's situation: the baseline runs in one report folder, its
run folder is then moved elsewhere (as a download would put it) and that report folder deleted,
and each candidate runs in a report folder (and cache) of its own, finding the baseline's files
only in the moved folder's artifacts/.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.slowable_zoo import write_module  # noqa: E402 - the project root, put on the path above

EXTRA = {"slow_10pct": 2, "slow_25pct": 5, "slow_2x": 20, "untouched": 0}


def run(out: Path, module: Path, *args: str) -> Path:
    command = [
        sys.executable, "-m", "pytest", str(ROOT / "suite" / "matrix"), "--rootdir", str(ROOT), "-q",
        "-p", "no:cacheprovider", f"--zoo-module={module}", f"--zoo-models={','.join(EXTRA)}",
        "--zoo-exporters=torchscript", "--zoo-opsets=17", "--zoo-paths=latency", "-k", "fp32",
        "--zoo-latency-seconds=0.3", f"--zoo-report-dir={out / 'reports'}", f"--zoo-cache-dir={out / 'cache'}",
        "--zoo-history=none", *args,
    ]  # fmt: skip
    done = subprocess.run(command, cwd=out, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        sys.exit(f"run failed ({done.returncode}): {done.stdout[-2000:]}{done.stderr[-2000:]}")
    return (out / "reports" / "latest").resolve()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--across-folders", action="store_true", help="baseline moved, each candidate apart")
    args = parser.parse_args()
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    base_runner = out / "baseline-runner" if args.across_folders else out
    base_runner.mkdir(exist_ok=True)
    baseline = run(base_runner, write_module(out / "same_work.py", dict.fromkeys(EXTRA, 0)))
    if args.across_folders:
        moved = out / "downloaded" / baseline.name
        moved.parent.mkdir(exist_ok=True)
        shutil.move(baseline, moved)
        shutil.rmtree(base_runner)
        baseline = moved
    candidate = write_module(out / "more_work.py", EXTRA)
    found = []
    for repeat in range(args.repeats):
        start = time.perf_counter()
        runner = out / f"candidate-{repeat}" if args.across_folders else out
        runner.mkdir(exist_ok=True)
        folder = run(runner, candidate, f"--zoo-baseline={baseline}", "--zoo-ab-identical")
        rows = pd.read_csv(folder / "results.csv")
        rows["repeat"], rows["seconds"] = repeat, round(time.perf_counter() - start, 1)
        found.append(rows[["repeat", "model", "ab_verdict", "ab_ratio", "ab_ci_low", "ab_ci_high", "seconds"]])
        print(rows[["model", "ab_verdict", "ab_ratio", "ab_ci_low", "ab_ci_high"]].to_string(index=False), flush=True)
    verdicts = pd.concat(found, ignore_index=True)
    verdicts.to_csv(out / "verdicts.csv", index=False)
    table = verdicts.groupby("model")["ab_verdict"].value_counts().unstack(fill_value=0)
    print(f"\n{args.repeats} candidate runs against baseline {baseline.name}:\n{table.to_string()}")
    print(verdicts.groupby("model")[["ab_ratio"]].median().to_string())


if __name__ == "__main__":
    main()
