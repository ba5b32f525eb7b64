"""suite.cli.history as a new user meets it: the database a run wrote, `previous`, promotions that
would lose cases, a URL that cannot be opened, and a reader that stops early."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from suite.cli import history as history_cli
from suite.cli.pipes import EXIT_CLOSED_PIPE
from suite.core.rows import judged_count
from suite.core.run_folder import HISTORY_ENV, history_url
from suite.history.store import HistoryStore
from tests.test_history import _part, _rows

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _no_history_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test in its own working folder, with no $ZOO_HISTORY_URL but the one it sets."""
    monkeypatch.delenv(HISTORY_ENV, raising=False)
    monkeypatch.chdir(tmp_path)


def _store_runs(url: str, runs: dict[str, list[dict]]) -> HistoryStore:
    """A history with the given runs, complete, started a minute apart in the order given."""
    store = HistoryStore(url)
    for minute, (run_id, rows) in enumerate(runs.items()):
        store.write_part(_part(run_id, f"2026-11-27T10:{minute:02d}:00+00:00"), rows, {}, "complete")
    return store


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = history_cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _sqlite(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def test_the_cli_opens_the_database_a_run_with_the_same_options_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The issue: a run with --zoo-report-dir X stored X/history.sqlite, and `promote latest nightly`
    # promoted the newest run of ./reports/history.sqlite, an unrelated one.
    _store_runs(_sqlite(tmp_path / "reports" / "history.sqlite"), {"unrelated": _rows("u")})
    _store_runs(_sqlite(tmp_path / "X" / "history.sqlite"), {"mine": _rows("m")})
    assert history_url(None, "X") == _sqlite(tmp_path / "X" / "history.sqlite")  # the plugin's rule too

    code, out, err = _cli(capsys, "--zoo-report-dir", "X", "promote", "latest", "nightly")
    assert code == 0 and "run mine" in out
    assert err == f"suite.cli.history: using {_sqlite(tmp_path / 'X' / 'history.sqlite')}\n"
    # The options may follow the command as well.
    code, out, err = _cli(capsys, "show-baseline", "nightly", "--zoo-report-dir", "X")
    assert (code, out) == (0, "mine\n")
    code, out, err = _cli(capsys, "show-baseline", "nightly")  # ./reports: another history
    assert code == 1 and "reports/history.sqlite" in err

    # $ZOO_HISTORY_URL beats the report dir, --zoo-history beats both; --db is still taken, with a note.
    env_url = _sqlite(tmp_path / "env.sqlite")
    _store_runs(env_url, {"from-env": _rows("e")})
    monkeypatch.setenv(HISTORY_ENV, env_url)
    code, out, err = _cli(capsys, "--zoo-report-dir", "X", "list")
    assert "from-env" in out and "mine" not in out and err == f"suite.cli.history: using {env_url}\n"
    code, out, err = _cli(capsys, "--zoo-history", _sqlite(tmp_path / "X" / "history.sqlite"), "list")
    assert "mine" in out and "from-env" not in out
    code, out, err = _cli(capsys, "--db", _sqlite(tmp_path / "X" / "history.sqlite"), "list")
    assert code == 0 and "mine" in out and "--db is deprecated" in err


def test_a_password_in_the_used_database_line_is_hidden(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(capsys, "--zoo-history", "postgresql+psycopg://zoo:s3cret@127.0.0.1:1/zoo", "list")
    assert code == history_cli.EXIT_USAGE and "s3cret" not in err and "zoo:***@" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_previous_is_the_run_before_the_candidate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = _sqlite(tmp_path / "h.sqlite")
    _store_runs(url, {run_id: _rows(run_id) for run_id in ("r1", "r2", "r3")})
    code, out, _ = _cli(capsys, "--zoo-history", url, "diff", "latest", "--out", str(tmp_path / "d1"))
    assert code == 0 and "`r3` vs baseline `r2`" in out  # not r1: the candidate is no longer counted twice
    code, out, _ = _cli(capsys, "--zoo-history", url, "diff", "r2", "--baseline", "previous", "--out", "d2")
    assert code == 0 and "`r2` vs baseline `r1`" in out
    code, out, _ = _cli(capsys, "--zoo-history", url, "diff", "r2", "--baseline", "latest", "--out", "d3")
    assert code == 0 and "`r2` vs baseline `r3`" in out  # latest: the newest run other than the candidate
    code, _, err = _cli(capsys, "--zoo-history", url, "diff", "r1", "--baseline", "previous", "--out", "d4")
    assert code == history_cli.EXIT_USAGE and "no previous complete run started before run r1" in err


def test_a_run_folder_candidate_not_stored_takes_the_stored_run_before_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from suite.history.references import run_id_for

    store = _store_runs(_sqlite(tmp_path / "h.sqlite"), {run_id: _rows(run_id) for run_id in ("r1", "r2", "r3")})
    # Started between r2 and r3 (its folder's metadata), never imported.
    assert run_id_for("previous", store, exclude="folder", candidate_started="2026-11-27T10:01:30+00:00") == "r2"
    # A run in progress is not stored yet: every stored run started before it.
    assert run_id_for("previous", store, exclude="running-now") == "r3"


def _judged_and_not(run_id: str, judged: int, unjudged: int) -> list[dict]:
    rows = _rows(run_id, judged + unjudged)
    kinds = [("skip", ""), ("unsupported", ""), ("xfail", ""), ("mismatch", "not run: the session ended first")]
    for index, row in enumerate(rows[judged:]):
        row["status"], row["message"] = kinds[index % len(kinds)]
    return rows


def test_judged_cases_leave_out_skips_unsupported_xfails_and_cases_not_run() -> None:
    rows = _judged_and_not("r", 3, 4)
    rows[0]["status"] = "crash"  # a failure is judged
    assert judged_count(rows) == 3
    assert judged_count([{"case_id": "x"}]) == 1 and judged_count([]) == 0


def test_promoting_a_run_that_tested_less_is_refused_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _sqlite(tmp_path / "h.sqlite")
    runs = {
        "full": _judged_and_not("full", 5, 1),
        "cut": _judged_and_not("cut", 2, 4),
        "none": _judged_and_not("n", 0, 4),
    }
    _store_runs(url, runs)
    assert _cli(capsys, "--zoo-history", url, "promote", "full", "nightly")[0] == 0

    code, out, err = _cli(capsys, "--zoo-history", url, "promote", "cut", "nightly")
    assert code == history_cli.EXIT_USAGE and out == ""
    (_, why) = err.splitlines()  # the database used, then one line saying why and what to do
    assert "run cut judged 2 cases, fewer than the 5 of run full that 'nightly' names now" in why
    assert "--force" in why
    assert _cli(capsys, "--zoo-history", url, "show-baseline", "nightly")[1] == "full\n"
    code, out, _ = _cli(capsys, "--zoo-history", url, "promote", "cut", "nightly", "--force")
    assert code == 0 and _cli(capsys, "--zoo-history", url, "show-baseline", "nightly")[1] == "cut\n"
    # As many cases as the baseline, or more: promoted.
    assert _cli(capsys, "--zoo-history", url, "promote", "full", "nightly")[0] == 0

    # No case judged: refused even where the name is new.
    code, _, err = _cli(capsys, "--zoo-history", url, "promote", "none", "weekly")
    assert code == history_cli.EXIT_USAGE and "run none judged no case" in err and "--force" in err
    assert _cli(capsys, "--zoo-history", url, "show-baseline", "weekly")[0] == 1
    assert _cli(capsys, "--zoo-history", url, "promote", "none", "weekly", "--force")[0] == 0


def _unopenable_url(tmp_path: Path) -> str:
    """A SQLite file under a regular file (which is no database either): its folder can never be created."""
    (tmp_path / "a-file").write_text("not a database")
    return f"sqlite:///{tmp_path / 'a-file' / 'h.sqlite'}"


def test_a_history_url_that_cannot_be_opened_is_one_line_in_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for url in (_unopenable_url(tmp_path), f"sqlite:///{tmp_path / 'a-file'}", "postgresql+nosuchdriver://u@h/db"):
        code, out, err = _cli(capsys, "--zoo-history", url, "list")
        assert code == history_cli.EXIT_USAGE, (url, out, err)
        assert err.startswith("suite.cli.history: cannot open the history database") and err.count("\n") == 1
        assert "--zoo-history none" in err


def test_a_history_url_that_cannot_be_opened_is_a_usage_error_of_the_run(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "suite/matrix", "--zoo-models=mlp", "--zoo-paths=ort",
         "--zoo-exporters=torchscript", "--zoo-opsets=17", "--zoo-shapes=static", "-p", "no:cacheprovider",
         f"--zoo-report-dir={tmp_path / 'reports'}", "--zoo-history", _unopenable_url(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.stderr.startswith("ERROR: zoo-suite: cannot open the history database")
    assert done.stderr.strip().count("\n") == 0
    assert "Traceback" not in done.stdout + done.stderr and "INTERNALERROR" not in done.stdout + done.stderr


def test_a_reader_that_stops_after_the_first_line_ends_the_cli_quietly(tmp_path: Path) -> None:
    url = _sqlite(tmp_path / "h.sqlite")
    # Far more than a pipe holds (64 KiB), so the command is still writing when the reader leaves.
    _store_runs(url, {"big": _rows("big", 1500)})
    with subprocess.Popen(
        [sys.executable, "-m", "suite.cli.history", "--zoo-history", url, "trend", "*"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read()
        code = proc.wait(timeout=120)
    assert first.startswith("m") and "-torchscript-op17-static-ort_cpu" in first
    assert code == EXIT_CLOSED_PIPE, err
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err
