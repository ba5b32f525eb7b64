"""A run killed mid-way keeps its rows, and its report can be written from them afterwards."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from suite import rebuild
from suite.runs import read_jsonl

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_a_killed_runs_report_is_rebuilt_from_its_rows(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    command = [
        sys.executable, "-m", "pytest", str(ROOT / "suite" / "matrix"), "--rootdir", str(ROOT),
        "-p", "no:cacheprovider", "-q", f"--zoo-report-dir={reports}", f"--zoo-cache-dir={tmp_path / 'cache'}",
        "--zoo-models=mlp,gru", "--zoo-paths=ort", "--zoo-history=none",
    ]  # fmt: skip
    run = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    rows_file = None
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and rows_file is None:
        found = list(reports.glob("runs/*/rows.jsonl"))
        if found and len(found[0].read_text().splitlines()) >= 3:
            rows_file = found[0]
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGKILL)  # pytest and its worker processes, mid-run
    run.wait(timeout=30)
    assert rows_file is not None, "the run wrote no rows in time"
    folder = rows_file.parent
    with rows_file.open("a") as handle:
        handle.write('{"case_id": "mlp-torn')  # as a kill in the middle of an append leaves it
    assert not (folder / "results.csv").exists() and not (folder / "metadata.json").exists()

    assert rebuild.main([str(folder)]) == 0
    written = {row["case_id"] for row in read_jsonl(rows_file, torn_tail=True)}
    frame = pd.read_csv(folder / "results.csv")
    assert len(written) >= 3 and sorted(frame.case_id) == sorted(written)  # one row per finished case
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["state"] == "interrupted" and meta["rows"] == len(frame)
    page = (folder / "results.html").read_text()
    assert all(f'id="case-{case_id}"' in page for case_id in written)
    assert not (reports / "latest").exists()  # a rebuilt report does not become the latest run
    for _ in range(50):  # no process of the killed run is left
        try:
            os.killpg(run.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("processes of the killed run are still alive")


def test_rebuilding_a_folder_without_rows_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert rebuild.main([str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"suite.rebuild: {tmp_path} is not a run folder (no rows.jsonl); give e.g. reports/runs/<run id>"
    )
