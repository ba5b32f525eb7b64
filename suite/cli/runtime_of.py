"""The onnxruntime a run folder ran on, as a pip requirement: what to install to time its files again.

    python -m suite.cli.runtime_of reports/baseline      # -> onnxruntime==1.32.0

The nightly compares the baseline's with tonight's: where they differ (an upgrade), the same files
are timed in both environments with suite.cli.env_ab, against a venv built with this requirement.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from suite.cli.pipes import quiet_on_closed_pipe
from suite.core.run_folder import HistoryError, read_run_folder


def runtime_requirement(folder: Path) -> str:
    """`package==version` of the onnxruntime flavour that ran the folder's rows.

    Raises:
        HistoryError: not a run folder, or its rows and metadata name no onnxruntime.
    """
    found = read_run_folder(folder)
    runtime = found.metadata.get("onnxruntime") or next(
        ({k: r[k] for k in ("ort_package", "ort_version")} for r in found.rows if r.get("ort_version")), {}
    )
    package, version = runtime.get("ort_package"), runtime.get("ort_version")
    if not package or not version:
        raise HistoryError(f"{folder} names no onnxruntime (no metadata.json, no ort_version in its rows)")
    return f"{package}=={version}"


@quiet_on_closed_pipe
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m suite.cli.runtime_of", description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a run folder (or a merged baseline folder)")
    args = parser.parse_args(argv)
    try:
        print(runtime_requirement(args.folder))
    except HistoryError as exc:
        print(f"suite.cli.runtime_of: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
