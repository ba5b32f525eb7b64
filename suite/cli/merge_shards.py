"""One report from the run folders of a run's shards (`--zoo-shard K/N` on several runners).

    python -m suite.cli.merge_shards shard-runs/*/<run id> --out reports/runs/<run id>

The shards of a run share its run id and each took whole models, so their rows do not overlap:
a case id in two folders, or folders of different runs, is an error (one line), never a silent
merge. The merged folder gets every shard's rows (rows.jsonl), latency samples and timed files (artifacts/, a
baseline for --zoo-baseline), repro folders (triage/) and the report written from them,
with the first shard's metadata and a notice naming the shards.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from suite.cli.pipes import quiet_on_closed_pipe
from suite.cli.rebuild import rebuild
from suite.core.run_folder import ROWS_FILE, SAMPLES_FILE, HistoryError, read_jsonl
from suite.latency_ab.kept_artifacts import ARTIFACTS_DIR, ArtifactStore
from suite.report.triage_folder import TRIAGE_DIR


def merge(folders: Sequence[Path], out: Path) -> dict[str, Path]:
    """Write `out` from the shards' folders and return the report's paths.

    Raises:
        HistoryError: a folder is not a run folder, the folders are of different runs, or a case
            appears in two of them.
    """
    rows: dict[str, tuple[Path, dict[str, Any]]] = {}
    metadata: list[dict[str, Any]] = []
    for folder in folders:
        if not (folder / ROWS_FILE).is_file():
            raise HistoryError(
                f"{folder} is not a run folder (no {ROWS_FILE}); give each shard's reports/runs/<run id>"
            )
        meta_path = folder / "metadata.json"
        metadata.append(json.loads(meta_path.read_text()) if meta_path.is_file() else {"run_id": folder.name})
        for row in read_jsonl(folder / ROWS_FILE, torn_tail=True):
            case = str(row["case_id"])
            if case in rows and rows[case][0] != folder:
                raise HistoryError(
                    f"case {case} is in both {rows[case][0]} and {folder}: shards of one run take disjoint models; "
                    "give the folders of one run's shards"
                )
            rows[case] = (folder, row)
    run_ids = sorted({str(m.get("run_id", "")) for m in metadata})
    if len(run_ids) > 1:
        raise HistoryError(f"the folders are of different runs ({', '.join(run_ids)}); give one run's shards")
    out.mkdir(parents=True, exist_ok=True)
    with (out / ROWS_FILE).open("w") as handle:
        for _, row in rows.values():
            handle.write(json.dumps(row, default=str) + "\n")
    merged = dict(metadata[0])
    merged["notices"] = [
        *merged.get("notices", []),
        f"merged from {len(folders)} shard folders ({len(rows)} cases) by python -m suite.cli.merge_shards",
    ]
    (out / "metadata.json").write_text(json.dumps(merged, indent=2, default=str))
    _merge_timed(folders, out)
    _merge_triage(folders, out)
    return rebuild(out)


def _merge_triage(folders: Sequence[Path], out: Path) -> None:
    """The shards' repro folders: their rows name caches on the runners, which the merge cannot see."""
    for folder in folders:
        if (folder / TRIAGE_DIR).is_dir():
            shutil.copytree(folder / TRIAGE_DIR, out / TRIAGE_DIR, dirs_exist_ok=True)


def _merge_timed(folders: Sequence[Path], out: Path) -> None:
    """The shards' latency samples and timed files, so the merged folder is a whole baseline
    (its latency cases can be timed A/B against wherever the folder goes)."""
    samples = [
        line
        for folder in folders
        if (folder / SAMPLES_FILE).is_file()
        for line in (folder / SAMPLES_FILE).read_text().splitlines(keepends=True)
        if line.endswith("\n")
    ]
    if samples:
        (out / SAMPLES_FILE).write_text("".join(samples))
    kept = ArtifactStore(out / ARTIFACTS_DIR)
    for folder in folders:
        for path in sorted((folder / ARTIFACTS_DIR).glob("*/*.onnx")):
            kept.keep(path)


@quiet_on_closed_pipe
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m suite.cli.merge_shards", description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="each shard's run folder")
    parser.add_argument("--out", type=Path, required=True, help="the merged run folder")
    args = parser.parse_args(argv)
    try:
        paths = merge(args.folders, args.out)
    except HistoryError as exc:
        print(f"suite.cli.merge_shards: {exc}", file=sys.stderr)
        return 2
    print(f"{args.out}: {', '.join(str(p) for p in paths.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
