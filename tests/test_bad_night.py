"""A nightly's bad night, tested as it happens: a password on the command line, two shards writing
one PostgreSQL history at once, one killed and resumed under xdist, a diff that must not notice.

Every file a run writes, every row of its history and everything it printed is searched for the
planted secret.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from suite.core.run_folder import read_jsonl
from suite.history.store import HistoryStore
from tests.pg_server import postgres_or_skip
from tests.process_group import assert_group_ended

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
SECRET = "TOPSECRET-zoo-7f3a"  # the database password, and the value of secret-looking variables
# Secrets a CI job holds in its environment; no value of any environment variable is ever written.
SECRET_ENV = {"PGPASSWORD": SECRET, "ZOO_TEST_API_TOKEN": SECRET}
SELECTION = ("--zoo-models=mlp,gru", "--zoo-paths=ort", "--zoo-exporters=torchscript,dynamo")


@pytest.fixture(scope="module")
def pg_with_password() -> Iterator[str]:
    """A real PostgreSQL server that asks for a password (scram-sha-256), its URL carrying it."""
    with postgres_or_skip(password=SECRET) as url:
        yield url


def fresh_database(server_url: str, name: str) -> str:
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def zoo_command(folder: Path, history: str, *extra: str, cache: str = "cache") -> list[str]:
    return [
        sys.executable, "-m", "pytest", str(ROOT / "suite" / "matrix"), "--rootdir", str(ROOT),
        "-p", "no:cacheprovider", "-q", f"--zoo-report-dir={folder / 'reports'}",
        f"--zoo-cache-dir={folder / cache}", "--zoo-history", history, *extra,
    ]  # fmt: skip


def environment() -> dict[str, str]:
    return {**os.environ, **SECRET_ENV}


class Transcript:
    """Everything the commands of one test printed, to search for the secret at the end."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def run(self, command: list[str], *, expect: tuple[int, ...] = (0, 1)) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(command, cwd=ROOT, env=environment(), capture_output=True, text=True, check=False)
        self.texts += [done.stdout, done.stderr]
        assert done.returncode in expect, f"exit {done.returncode}: {done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        return done

    def history(self, url: str, *args: str, expect: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        return self.run([sys.executable, "-m", "suite.cli.history", "--zoo-history", url, *args], expect=expect)


def files_holding(folder: Path, secret: str) -> list[str]:
    """Every file under `folder` whose bytes hold the secret (SQLite databases and their WAL too)."""
    needle = secret.encode()
    return [str(p) for p in folder.rglob("*") if p.is_file() and not p.is_symlink() and needle in p.read_bytes()]


def history_rows_holding(url: str, secret: str) -> list[str]:
    """Every row of every table of the history database that holds the secret anywhere."""
    engine = sa.create_engine(url)
    tables = sa.MetaData()
    tables.reflect(engine)
    found = []
    with engine.connect() as conn:
        for table in tables.sorted_tables:
            found += [f"{table.name}: {row}" for row in conn.execute(sa.select(table)) if secret in str(tuple(row))]
    engine.dispose()
    return found


def assert_no_secret(folder: Path, url: str, transcript: Transcript) -> None:
    assert files_holding(folder, SECRET) == []
    assert history_rows_holding(url, SECRET) == []
    assert [text for text in transcript.texts if SECRET in text] == []


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_planted_secret_is_in_no_file_no_history_row_and_no_output(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'reports' / 'history.sqlite'}"
    else:
        url = fresh_database(request.getfixturevalue("pg_with_password"), "planted")
        assert f":{SECRET}@" in url
    transcript = Transcript()
    timed = ("--zoo-models=mlp", "--zoo-opsets=torchscript:17", "--zoo-shapes=static", "--zoo-paths=ort,latency")
    args = (*timed, "--zoo-latency-seconds=0.2", "-k", "ort_cpu or lat.fp32")
    transcript.run(zoo_command(tmp_path, url, *args, "--zoo-run-id=first"))
    # The second run diffs against the first: diff.csv, diff.md and the report's diff section too.
    second = transcript.run(zoo_command(tmp_path, url, *args, "--zoo-run-id=second", "--zoo-baseline=first"))
    assert "diff vs first" in second.stdout
    transcript.history(url, "list")
    transcript.history(url, "promote", "second", "nightly")
    transcript.history(url, "diff", "second", "--baseline", "first", "--out", str(tmp_path / "reports" / "diff"))
    if backend == "postgresql":
        wrong = url.replace(SECRET, "WRONG-" + SECRET[::-1])
        refused = transcript.run(zoo_command(tmp_path, wrong, *args), expect=(pytest.ExitCode.USAGE_ERROR,))
        assert "password authentication failed" in refused.stderr and "***" in refused.stderr
        assert SECRET[::-1] not in refused.stderr + refused.stdout
        listed = transcript.history(wrong, "list", expect=(2,))
        assert listed.stderr.count("\n") == 1 and "zoo:***@" in listed.stderr and SECRET[::-1] not in listed.stderr
    written = sorted(p.name for p in (tmp_path / "reports" / "runs" / "second").iterdir())
    assert {"metadata.json", "results.csv", "results.html", "diff.md", "benchmark.json"} <= set(written)
    meta = (tmp_path / "reports" / "runs" / "second" / "metadata.json").read_text()
    assert "--zoo-history" in meta and ("***" in meta) == (backend == "postgresql")
    assert_no_secret(tmp_path, url, transcript)


def _start(command: list[str]) -> subprocess.Popen[bytes]:
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    return subprocess.Popen(command, cwd=ROOT, env=environment(), start_new_session=True, **quiet)


def _wait_for_rows(rows_file: Path, count: int, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if rows_file.is_file() and len(rows_file.read_text().splitlines()) >= count:
            return
        time.sleep(0.05)
    pytest.fail(f"{rows_file} did not reach {count} rows in {seconds} s")


def _diff_frame(transcript: Transcript, url: str, candidate: str, out: Path) -> pd.DataFrame:
    transcript.history(url, "diff", candidate, "--baseline", "nightly", "--out", str(out))
    frame = pd.read_csv(out / "diff.csv")
    return (
        frame[["case_id", "change", "why", "base_status", "cand_status", "cand_stage", "message_changed"]]
        .sort_values("case_id")
        .reset_index(drop=True)
    )


def test_a_bad_night_two_shards_one_killed_and_resumed_under_xdist_diffs_as_a_good_one(
    tmp_path: Path, pg_with_password: str
) -> None:
    started = time.monotonic()
    url = fresh_database(pg_with_password, "badnight")
    transcript = Transcript()
    folder = tmp_path / "night"
    # Last good night: one run, promoted as the baseline.
    transcript.run(zoo_command(folder, url, *SELECTION, "--zoo-run-id=good", "-n", "2"))
    transcript.history(url, "promote", "good", "nightly")
    cases = {str(r["case_id"]) for r in HistoryStore(url).run_rows("good")}
    assert len(cases) == 24

    # Tonight: two shards at once into the same history, on a cold cache (as a fresh runner has);
    # shard 1 is killed (SIGKILL, its whole process group) once it has streamed 3 rows.
    tonight = ("--zoo-run-id=bad",)
    shards = {
        k: _start(zoo_command(folder, url, *SELECTION, *tonight, f"--zoo-shard={k}/2", cache="cold")) for k in (1, 2)
    }
    killed_rows = folder / "reports" / "runs" / "bad-shard1of2" / "rows.jsonl"
    _wait_for_rows(killed_rows, 3)
    os.killpg(shards[1].pid, signal.SIGKILL)
    shards[1].wait(timeout=30)
    assert shards[2].wait(timeout=600) in (0, 1)
    for shard in shards.values():
        assert_group_ended(shard.pid)
    finished_before = {str(r["case_id"]) for r in read_jsonl(killed_rows, torn_tail=True)}
    states = _part_states(url, "bad")
    assert states == {"1/2 ort": "running", "2/2 ort": "complete"}, states  # the kill left it running

    # The morning after: shard 1 resumed on two workers; it runs only what the kill left undone.
    resume = ("--zoo-resume=bad", "--zoo-shard=1/2", "-n", "2")
    resumed = transcript.run(zoo_command(folder, url, *SELECTION, *resume, cache="cold"))
    model = next(iter(finished_before)).split("-")[0]  # shards split by model
    shard_cases = {case for case in cases if case.startswith(f"{model}-")}
    assert f"{len(shard_cases) - len(finished_before)} cases: pass" in resumed.stdout, resumed.stdout[-2000:]
    streamed = [str(r["case_id"]) for r in read_jsonl(killed_rows)]
    assert len(streamed) == len(set(streamed)) and set(streamed) == shard_cases  # none twice, none lost

    store = HistoryStore(url)
    (run,) = [r for r in store.list_runs() if r.run_id == "bad"]
    assert (run.state, run.parts, run.rows) == ("complete", 2, 24)
    stored = [str(r["case_id"]) for r in store.run_rows("bad")]
    assert sorted(stored) == sorted(cases)  # each case id exactly once in the merged run

    # The same diff as a night without trouble.
    transcript.run(zoo_command(folder, url, *SELECTION, "--zoo-run-id=calm", "-n", "2"))
    bad = _diff_frame(transcript, url, "bad", tmp_path / "diff-bad")
    calm = _diff_frame(transcript, url, "calm", tmp_path / "diff-calm")
    pd.testing.assert_frame_equal(bad, calm)
    assert len(bad) == 24 and set(bad["change"]) == {"unchanged"}, bad
    assert_no_secret(folder, url, transcript)
    print(f"bad night: {len(cases)} cases, {len(finished_before)} finished before the kill, "
          f"{time.monotonic() - started:.0f} s")  # fmt: skip


def _part_states(url: str, run_id: str) -> dict[str, str]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT part, state FROM run_parts WHERE run_id = :r"), {"r": run_id}).all()
    engine.dispose()
    return {part: state for part, state in found}
