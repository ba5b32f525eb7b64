"""Compare two run folders case by case: ids, statuses, stages and messages (a refactor must keep them).

python scripts/compare_runs.py reports/runs/BEFORE reports/runs/AFTER
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

COLUMNS = ("status", "stage", "message")


def main(before_dir: str, after_dir: str) -> int:
    before = pd.read_csv(Path(before_dir) / "results.csv", low_memory=False).set_index("case_id")
    after = pd.read_csv(Path(after_dir) / "results.csv", low_memory=False).set_index("case_id")
    only_before, only_after = sorted(set(before.index) - set(after.index)), sorted(set(after.index) - set(before.index))
    print(
        f"case ids: {len(before)} before, {len(after)} after; only before {len(only_before)}, after {len(only_after)}"
    )
    for name in (*only_before, *only_after):
        print(f"  {name}")
    common = before.index.intersection(after.index)
    differing = 0
    for column in COLUMNS:
        left = before.loc[common, column].fillna("").astype(str)
        right = after.loc[common, column].fillna("").astype(str)
        changed = common[left != right]
        differing += len(changed)
        print(f"{column} differences: {len(changed)}")
        for case_id in changed:
            print(f"  {case_id}: {left[case_id][:160]!r} -> {right[case_id][:160]!r}")
    return 1 if only_before or only_after or differing else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
