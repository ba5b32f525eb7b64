"""Merge run folders from several environments into one report with providers side by side.

    python -m suite.cli.combine reports/runs/<cpu run> reports/runs/<openvino run> --out reports/combined

Each run folder keeps rows.jsonl (every case, with the onnxruntime package,
version and providers that ran it) and metadata.json. The merged folder gets
rows.csv (all rows, with the run they came from), latency_by_provider.csv and
combined.html.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from suite.cli.pipes import quiet_on_closed_pipe
from suite.core.run_folder import HistoryError, read_jsonl
from suite.report.latency import frame_table, latency_rows, provider_comparison


class RunFolderError(ValueError):
    """A path that is not a readable run folder."""


def load_run(run_dir: Path) -> tuple[pd.DataFrame, dict]:
    """A run's rows (from rows.jsonl) and metadata; rows gain a `run` column naming the folder."""
    rows_path = run_dir / "rows.jsonl"
    if not rows_path.is_file():
        raise RunFolderError(f"{run_dir} has no rows.jsonl; give run folders such as reports/runs/<stamp>")
    try:
        rows = read_jsonl(rows_path)
    except HistoryError as exc:
        raise RunFolderError(str(exc)) from None
    meta_path = run_dir / "metadata.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    frame = pd.DataFrame(rows)
    frame["run"] = run_dir.name
    return frame, meta


def combine(run_dirs: Sequence[Path], out: Path) -> dict[str, Path]:
    """Write the merged rows, the provider comparison and a page showing both."""
    loaded = [load_run(Path(d)) for d in run_dirs]
    frame = pd.concat([rows for rows, _ in loaded], ignore_index=True)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "rows": out / "rows.csv",
        "latency": out / "latency.csv",
        "providers": out / "latency_by_provider.csv",
        "html": out / "combined.html",
    }
    frame.to_csv(paths["rows"], index=False)
    latency = latency_rows(frame)
    latency.to_csv(paths["latency"], index=False)
    comparison = provider_comparison(frame)
    comparison.to_csv(paths["providers"], index=False)
    sources = "".join(_source_row(Path(d), meta) for d, (_, meta) in zip(run_dirs, loaded, strict=True))
    paths["html"].write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>zoo-suite: providers side by side</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:2em}"
        "th,td{border:1px solid #bbb;padding:3px 6px;font-size:13px}td.msg{font-family:monospace;font-size:12px}"
        "</style></head><body><h1>Latency by execution provider</h1>"
        "<table><thead><tr><th>run</th><th>onnxruntime package</th><th>providers offered</th><th>date</th>"
        f"<th>commit</th></tr></thead><tbody>{sources}</tbody></table>"
        "<h2>p50 ms per model and variant (a status where the case did not pass)</h2>"
        f"{frame_table(comparison, 'providers')}<h2>Every latency row</h2>{frame_table(latency, 'latency')}"
        "</body></html>"
    )
    return paths


def _source_row(run_dir: Path, meta: dict) -> str:
    runtime = meta.get("onnxruntime", {})
    cells = (
        run_dir.name,
        f"{runtime.get('ort_package', '')} {runtime.get('ort_version', '')}",
        runtime.get("ort_providers", ""),
        meta.get("date", ""),
        meta.get("git_commit", ""),
    )
    return "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>"


@quiet_on_closed_pipe
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m suite.cli.combine", description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders (reports/runs/<stamp>)")
    parser.add_argument("--out", type=Path, default=Path("reports/combined"), help="where the merged report goes")
    args = parser.parse_args(argv)
    try:
        paths = combine(args.runs, args.out)
    except RunFolderError as exc:
        print(f"suite.cli.combine: {exc}", file=sys.stderr)
        return 2
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
