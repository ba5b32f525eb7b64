"""Where a run's time went: per part and per path, case time against inherent work.

Usage: python scripts/timing_breakdown.py reports/runs/<run id>

Per part (make zoo runs the untimed paths on every core, then latency alone): wall time,
processes, the sum of its cases' durations and inherent seconds, and the harness overhead
(core-seconds over inherent seconds, suite.core.inherent). Per path: case count, summed case
duration, inherent seconds by kind, and what the cases spent outside inherent work.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from suite.core.inherent import KINDS, overhead_ratio


def breakdown(run_dir: Path) -> str:
    rows = pd.read_csv(run_dir / "results.csv")
    meta = json.loads((run_dir / "metadata.json").read_text())
    lines = [f"run {meta.get('run_id', run_dir.name)}: wall {meta.get('wall_seconds')} s in all"]
    for part in meta.get("parts", []):
        ratio = overhead_ratio([part])
        lines.append(
            f"  part {part['part']}: wall {part['wall_seconds']} s x {part.get('processes', 1)} processes, "
            f"inherent {part.get('inherent_seconds', 0):.1f} s, exports run {part['exports_run']}, "
            f"overhead {ratio if ratio is not None else 'n/a'}"
        )
    lines.append(f"  whole run: overhead {meta.get('overhead_ratio')} (core-seconds over inherent seconds)")
    columns = ["duration_seconds", "inherent_seconds", *(f"inherent_{kind}_s" for kind in KINDS)]
    present = [c for c in columns if c in rows.columns]
    table = rows.groupby("path")[present].sum().round(1)
    table.insert(0, "cases", rows.groupby("path").size())
    if "inherent_seconds" in table:
        table["outside_inherent_s"] = (table["duration_seconds"] - table["inherent_seconds"]).round(1)
    table.loc["all"] = table.sum().round(1)
    return "\n".join(lines) + "\n\n" + table.to_string()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/timing_breakdown.py reports/runs/<run id>")
    print(breakdown(Path(sys.argv[1])))
