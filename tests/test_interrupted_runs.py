"""A run killed mid-way keeps its rows: its report can be written from them, and the run finished later."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from suite.cli import rebuild
from suite.core.run_folder import read_jsonl
from tests.process_group import assert_group_ended

ROOT = Path(__file__).resolve().parent.parent


def _zoo_command(tmp_path: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "pytest", str(ROOT / "suite" / "matrix"), "--rootdir", str(ROOT),
        "-p", "no:cacheprovider", "-q", f"--zoo-report-dir={tmp_path / 'reports'}",
        f"--zoo-cache-dir={tmp_path / 'cache'}", "--zoo-models=mlp,gru", "--zoo-paths=ort", "--zoo-history=none",
        *extra,
    ]  # fmt: skip


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def _killed_run(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, Path]:
    """A real run in its own process group, killed with SIGKILL once it has streamed 3 rows."""
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    run = subprocess.Popen(_zoo_command(tmp_path, *extra), cwd=ROOT, start_new_session=True, **quiet)
    rows_file = None
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and rows_file is None:
        found = list((tmp_path / "reports").glob("runs/*/rows.jsonl"))
        if found and len(found[0].read_text().splitlines()) >= 3:
            rows_file = found[0]
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGKILL)  # pytest and its worker processes, mid-run
    run.wait(timeout=30)
    assert rows_file is not None, "the run wrote no rows in time"
    with rows_file.open("a") as handle:
        handle.write('{"case_id": "mlp-torn')  # as a kill in the middle of an append leaves it
    return run, rows_file


@pytest.mark.slow
def test_a_killed_runs_report_is_rebuilt_from_its_rows(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    run, rows_file = _killed_run(tmp_path)
    folder = rows_file.parent
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
    assert_group_ended(run.pid)  # no process of the killed run is left


def test_rebuilding_a_folder_without_rows_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert rebuild.main([str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"suite.cli.rebuild: {tmp_path} is not a run folder (no rows.jsonl); give e.g. reports/runs/<run id>"
    )


@pytest.mark.slow
def test_a_killed_run_resumed_ends_with_one_row_per_case_and_a_complete_report(tmp_path: Path) -> None:
    _, rows_file = _killed_run(tmp_path, "--zoo-run-id=nightly-killed")
    finished = {row["case_id"] for row in read_jsonl(rows_file, torn_tail=True)}
    listed = _run([*_zoo_command(tmp_path), "--collect-only"])
    cases = {line.rsplit("[", 1)[1].rstrip("]") for line in listed.stdout.splitlines() if "::" in line}
    assert finished < cases

    resumed = _run([*_zoo_command(tmp_path), "--zoo-resume=nightly-killed"])
    assert resumed.returncode in (0, 1), resumed.stderr[-2000:]
    streamed = [row["case_id"] for row in read_jsonl(rows_file)]  # the torn line is gone: it parses whole
    assert len(streamed) == len(set(streamed)) == len(cases)  # the finished cases did not run again
    folder = rows_file.parent
    frame = pd.read_csv(folder / "results.csv")
    assert sorted(frame.case_id) == sorted(cases)  # exactly one row per case
    assert not frame.message.astype(str).str.startswith("not run").any()
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["state"] == "complete" and meta["rows"] == len(cases)


def test_resuming_a_run_that_has_no_folder_is_a_one_line_error(tmp_path: Path) -> None:
    resumed = _run([*_zoo_command(tmp_path), "--zoo-resume=no-such-run"])
    assert resumed.returncode == pytest.ExitCode.USAGE_ERROR
    assert "ERROR: zoo-suite: --zoo-resume no-such-run: " in resumed.stderr and "Traceback" not in resumed.stderr
