"""The history store on SQLite and on a real PostgreSQL server: runs, parts, baselines, two writers at once."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from suite.cli import history as history_cli
from suite.core.run_folder import HistoryError, RunPart
from suite.history import references as history
from suite.history.schema import SCHEMA_VERSION, schema_info
from suite.history.store import HistoryStore
from tests.pg_server import postgres_or_skip

ROOT = Path(__file__).resolve().parent.parent


def _rows(run: str, n: int = 3, status: str = "pass") -> list[dict]:
    return [
        {"case_id": f"m{i}-torchscript-op17-static-ort_cpu", "model": f"m{i}", "path": "ort_cpu", "status": status,
         "stage": "done", "message": "", "max_abs_err": 1e-6, "note": run}
        for i in range(n)
    ]  # fmt: skip


def _part(run_id: str, started: str, part: str = "all", **meta: object) -> RunPart:
    return RunPart(run_id, part, started, {"git_commit": "abc123", "profile": "quick", **meta})


def write_runs(url: str, writer: str, count: int) -> None:
    """One writer process: `count` runs of 20 rows with 20 latency samples each."""
    store = HistoryStore(url)
    for index in range(count):
        run_id = f"{writer}-{index}"
        rows = _rows(run_id, 20)
        store.begin_part(_part(run_id, f"2026-11-27T10:{index:02d}:00+00:00"))
        samples = {r["case_id"]: [0.1 * k for k in range(1, 21)] for r in rows}
        store.write_part(_part(run_id, f"2026-11-27T10:{index:02d}:00+00:00"), rows, samples, "complete")


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_or_skip() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.sqlite'}"
    url = request.getfixturevalue("postgres_url")
    # A fresh database per test on the shared server.
    name = f"t{abs(hash(request.node.nodeid)) % 10**9}"
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return url.rsplit("/", 1)[0] + f"/{name}"


def test_three_runs_are_listed_newest_first_with_state_and_baseline(store_url: str) -> None:
    store = HistoryStore(store_url)
    for index, run_id in enumerate(["r1", "r2", "r3"]):
        part = _part(run_id, f"2026-11-2{index + 1}T02:00:00+00:00", onnxruntime={"ort_package": "onnxruntime"})
        store.begin_part(part)
        store.write_part(part, _rows(run_id), {}, "complete")
    store.promote("r2", "nightly")
    found = store.list_runs()
    assert [r.run_id for r in found] == ["r3", "r2", "r1"]
    assert all(r.state == "complete" and r.rows == 3 and r.git_commit == "abc123" for r in found)
    assert found[1].baselines == ("nightly",) and found[0].ort_package == "onnxruntime"
    assert history.run_id_for("nightly", store) == "r2"
    assert history.run_id_for("latest", store) == "r3"
    assert history.run_id_for("latest", store, exclude="r3") == "r2"
    assert history.run_id_for("previous", store) == "r2"  # no candidate: the run before `latest`
    # `previous` is the newest run started before the candidate, not the second other than it.
    assert history.run_id_for("previous", store, exclude="r3") == "r2"
    assert history.run_id_for("previous", store, exclude="r2") == "r1"
    with pytest.raises(HistoryError, match="no previous complete run started before run r1"):
        history.run_id_for("previous", store, exclude="r1")
    assert {r["note"] for r in store.run_rows("r1")} == {"r1"}  # every column of the row comes back
    with pytest.raises(HistoryError, match="neither a run folder, a baseline name nor a run id"):
        history.run_id_for("nightyl", store)


def test_a_running_part_and_an_interrupted_one_show_as_such(store_url: str) -> None:
    store = HistoryStore(store_url)
    store.begin_part(_part("killed", "2026-11-27T01:00:00+00:00"))
    part = _part("stopped", "2026-11-27T02:00:00+00:00")
    store.write_part(part, _rows("stopped", 2), {}, "interrupted")
    states = {r.run_id: r.state for r in store.list_runs()}
    assert states == {"killed": "running", "stopped": "interrupted"}
    assert store.earlier_runs("x") == []  # neither is complete: neither serves as history


def test_shards_of_one_run_merge_and_reimporting_a_part_replaces_it(store_url: str) -> None:
    store = HistoryStore(store_url)
    store.write_part(_part("nightly-7", "2026-11-27T02:00:00+00:00", "1/2"), _rows("a", 2), {}, "complete")
    second = [dict(r, case_id=r["case_id"].replace("m", "n")) for r in _rows("b", 3)]
    store.write_part(_part("nightly-7", "2026-11-27T02:00:01+00:00", "2/2"), second, {}, "complete")
    store.write_part(_part("nightly-7", "2026-11-27T02:00:01+00:00", "2/2"), second, {}, "complete")
    (run,) = store.list_runs()
    assert (run.parts, run.rows, run.state) == (2, 5, "complete")
    assert len(store.run_rows("nightly-7")) == 5


def test_a_newer_schema_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    store = HistoryStore(url)
    assert store.schema_version() == SCHEMA_VERSION
    with store.engine.begin() as conn:
        conn.execute(schema_info.update().values(version=SCHEMA_VERSION + 1))
    with pytest.raises(HistoryError, match="newer than this zoo-suite"):
        HistoryStore(url)


def test_a_bad_url_is_a_one_line_error() -> None:
    with pytest.raises(HistoryError, match="is not a database URL"):
        HistoryStore("histroy.sqlite")


def test_two_writers_at_once_lose_nothing(store_url: str) -> None:
    code = "import sys; from tests.test_history import write_runs; write_runs(sys.argv[1], sys.argv[2], 15)"
    writers = [
        subprocess.Popen([sys.executable, "-c", code, store_url, name], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        for name in ("w1", "w2")
    ]
    errors = [w.communicate(timeout=300)[1] for w in writers]
    assert [w.returncode for w in writers] == [0, 0], errors
    store = HistoryStore(store_url)
    found = store.list_runs(limit=100)
    assert len(found) == 30 and all(r.rows == 20 and r.state == "complete" for r in found)
    assert sum(len(store.run_samples(r.run_id)) for r in found) == 600


def test_the_command_line_imports_lists_promotes_and_diffs(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'h.sqlite'}"
    folders = []
    for name, status in (("base", "pass"), ("cand", "mismatch")):
        folder = tmp_path / name
        folder.mkdir()
        rows = _rows(name, 2, status)
        (folder / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        meta = {"run_id": name, "started_at": f"2026-11-27T0{len(folders)}:00:00+00:00", "state": "complete"}
        (folder / "metadata.json").write_text(json.dumps(meta))
        folders.append(folder)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "suite.cli.history", "--zoo-history", db, *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )

    assert cli("import", *map(str, folders)).returncode == 0
    listing = cli("list").stdout
    assert "base" in listing and "cand" in listing
    assert cli("promote", "base", "nightly").returncode == 0
    assert cli("show-baseline", "nightly").stdout.strip() == "base"
    assert cli("show-baseline", "weekly").returncode == 1
    diffed = cli("diff", "cand", "--baseline", "nightly", "--out", str(tmp_path / "diff"))
    assert diffed.returncode == history_cli.EXIT_REGRESSED, diffed.stdout + diffed.stderr
    assert "Regressed (2)" in diffed.stdout and "REGRESSION: 2 regressed" in diffed.stdout
    assert (tmp_path / "diff" / "diff.csv").is_file() and (tmp_path / "diff" / "diff.html").is_file()
    assert cli("diff", "cand", "--baseline", "nightly", "--fail-on", "none").returncode == 0
    trend = cli("trend", "m0-*", "--out", str(tmp_path / "trend"))
    assert trend.returncode == 0 and "m0-torchscript-op17-static-ort_cpu" in trend.stdout
    assert "pass" in trend.stdout and "mismatch" in trend.stdout and (tmp_path / "trend" / "trend.html").is_file()
    assert cli("trend", "zz*").returncode == 1
    unknown = cli("diff", "cand", "--baseline", "weekly")
    assert unknown.returncode == history_cli.EXIT_USAGE and "Traceback" not in unknown.stderr
    assert "'weekly' is neither" in unknown.stderr


def test_without_sqlalchemy_the_plugin_loads_and_a_history_asks_for_it() -> None:
    code = (
        "import sys; sys.modules['sqlalchemy'] = None\n"
        "import suite.plugin, suite.cli.combine\n"
        "from suite.core.run_folder import HistoryError\n"
        "try:\n"
        "    suite.plugin.session.open_store('sqlite:///x.sqlite')\n"
        "except HistoryError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "needs SQLAlchemy" in done.stdout and "--zoo-history none" in done.stdout


def test_a_pytest_session_without_zoo_cases_leaves_no_trace_in_the_history(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_messages.py", "-q", "-p", "no:cacheprovider",
         f"--zoo-report-dir={tmp_path}"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:]
    assert not (tmp_path / "history.sqlite").exists() and not (tmp_path / "runs").exists()


def test_an_unreachable_server_is_a_one_line_error() -> None:
    with pytest.raises(HistoryError, match="cannot open the history database") as caught:
        HistoryStore("postgresql+psycopg://zoo@127.0.0.1:1/zoo")
    assert "\n" not in str(caught.value)
