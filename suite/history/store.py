"""The results history: every run's rows, metadata and latency samples in one database.

SQLite by default (a file under reports/, nothing to start); any SQLAlchemy URL
otherwise, e.g. postgresql+psycopg://user@host/zoo for a team whose CPU, OpenVINO
and GPU runners write to one place. A run may come in parts (the shards of one
sharded run, or a re-import of a run folder): a part is written in one
transaction, so two writers at once (two shards, two tox environments) lose
nothing, and an interrupted part is stored as such. The tables and their migrations are
suite.history.schema's.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from suite.core.redact import redact, redacted_json
from suite.core.run_folder import HISTORY_ENV, HistoryError, RunPart, now_iso
from suite.history.schema import baselines, latency_samples, migrate, results, run_parts, runs, schema_info


@dataclass(frozen=True)
class RunSummary:
    """A line of `python -m suite.cli.history list`."""

    run_id: str
    started_at: str
    state: str
    parts: int
    rows: int
    profile: str
    git_commit: str
    ort_package: str
    baselines: tuple[str, ...]


def make_engine(url: str) -> Engine:
    """An engine whose transactions serialize writers (SQLite: BEGIN IMMEDIATE, WAL, 60 s busy wait)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise HistoryError(
            f"--zoo-history {url!r} is not a database URL; give e.g. sqlite:///reports/history.sqlite "
            "or postgresql+psycopg://user@host/zoo, or 'none' to keep no history"
        ) from None
    safe = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() != "sqlite":
        return _create_engine(url, safe, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        folder = Path(parsed.database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            # E.g. sqlite:////etc/passwd/h.sqlite: a file where the folder should be.
            raise HistoryError(
                f"cannot open the history database {safe}: its folder {folder} cannot be created "
                f"({exc.strerror or exc}); give a SQLite file in a folder you can write to, "
                "or --zoo-history none to keep no history"
            ) from None
    engine = _create_engine(url, safe, connect_args={"timeout": 60})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN and would let two writers both
        # read, then fail to upgrade their locks; take the write lock up front instead.
        dbapi_connection.isolation_level = None
        _switch_to_wal(dbapi_connection)
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _create_engine(url: str, safe_url: str, **options: Any) -> Engine:
    """sa.create_engine, with a dialect or driver that is not installed as a HistoryError."""
    try:
        return sa.create_engine(url, **options)
    except (ImportError, sa.exc.NoSuchModuleError) as exc:
        raise HistoryError(
            f"cannot open the history database {safe_url}: its driver is not installed ({exc}); "
            "install it (PostgreSQL: pip install psycopg and a postgresql+psycopg:// URL), "
            "or --zoo-history none to keep no history"
        ) from None


def _switch_to_wal(dbapi_connection: Any, wait_s: float = 60.0) -> None:
    """PRAGMA journal_mode=WAL, retried while another connection holds the lock it needs.

    Switching a database file into WAL mode takes an exclusive lock, and SQLite answers
    "database is locked" at once, without its busy wait, when two processes open a new history
    file together (measured: one of two writers failed so, tests/test_history.py).
    """
    deadline = time.monotonic() + wait_s
    while True:
        try:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class HistoryStore:
    """Runs, their rows and latency samples, and named baselines."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        try:
            with self.engine.begin() as conn:
                migrate(conn, self.safe_url)
        except sa.exc.DBAPIError as exc:
            # OperationalError (no server, no file), DatabaseError (sqlite: "file is not a database")
            # and the like: the driver's reason, on one line, and what to check.
            reason = redact(" ".join(str(exc.orig).split()))  # drivers write several lines; one is enough here
            raise HistoryError(
                f"cannot open the history database {self.safe_url}: {reason}; expected a zoo-suite history "
                "(a SQLite file, or a server that accepts the connection): check --zoo-history / "
                f"${HISTORY_ENV}, or give --zoo-history none to keep no history"
            ) from None

    @property
    def safe_url(self) -> str:
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(schema_info.c.version)).scalar_one())

    # -- writing ---------------------------------------------------------------------------------

    def begin_part(self, part: RunPart) -> None:
        """Register a run part as running (a process killed later leaves it so, visibly)."""
        with self.engine.begin() as conn:
            self._replace_part(conn, part, "running")

    def write_part(
        self,
        part: RunPart,
        rows: Sequence[Mapping[str, Any]],
        samples: Mapping[str, Sequence[float]],
        state: str,
    ) -> None:
        """Replace the part's rows and samples and set its state, all in one transaction."""
        with self.engine.begin() as conn:
            self._replace_part(conn, part, state, finished_at=now_iso(), row_count=len(rows))
            if rows:
                conn.execute(results.insert(), [_result_values(part, row) for row in rows])
            if samples:
                conn.execute(
                    latency_samples.insert(),
                    [
                        {
                            "run_id": part.run_id,
                            "part": part.part,
                            "case_id": case_id,
                            "samples_ms_json": json.dumps([round(float(s), 6) for s in values]),
                        }
                        for case_id, values in samples.items()
                    ],
                )

    def _ensure_run(self, conn: Connection, part: RunPart) -> None:
        """Create the run, or fill in what its first part did not know yet (commit, host, package)."""
        meta = part.metadata
        runtime = meta.get("onnxruntime") or {}
        facts = {
            "profile": str(meta.get("profile", "")),
            "selection": redact(str(meta.get("selection", ""))),
            "git_commit": str(meta.get("git_commit", "")),
            "hostname": str(meta.get("hostname", "")),
            "ort_package": str(runtime.get("ort_package", "")),
        }
        # Writers are serialized (BEGIN IMMEDIATE; PostgreSQL: the row lock below), so
        # shards of one run racing to create it find it created or create it themselves.
        query = sa.select(runs).where(runs.c.run_id == part.run_id)
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:run_id))"), {"run_id": part.run_id})
        existing = conn.execute(query).mappings().first()
        if existing is None:
            conn.execute(runs.insert().values(run_id=part.run_id, started_at=part.started_at, **facts))
            return
        missing = {k: v for k, v in facts.items() if v and not existing[k]}
        earlier = part.started_at and part.started_at < existing["started_at"]
        if missing or earlier:
            update = {**missing, **({"started_at": part.started_at} if earlier else {})}
            conn.execute(runs.update().where(runs.c.run_id == part.run_id).values(**update))

    def _replace_part(self, conn: Connection, part: RunPart, state: str, **finished: Any) -> None:
        """The part's row afresh (its earlier rows and samples gone), its run created or completed."""
        self._ensure_run(conn, part)
        for table in (latency_samples, results, run_parts):
            conn.execute(table.delete().where((table.c.run_id == part.run_id) & (table.c.part == part.part)))
        conn.execute(
            run_parts.insert().values(
                run_id=part.run_id,
                part=part.part,
                state=state,
                started_at=part.started_at,
                folder=part.folder,
                metadata_json=redacted_json(part.metadata),  # argv may name this very URL
                **finished,
            )
        )

    def promote(self, run_id: str, name: str) -> None:
        """Name a run as a baseline (moving the name if it pointed elsewhere)."""
        with self.engine.begin() as conn:
            if not conn.execute(sa.select(runs.c.run_id).where(runs.c.run_id == run_id)).first():
                raise HistoryError(
                    f"no run {run_id!r} in {self.safe_url}; `python -m suite.cli.history list` shows them"
                )
            conn.execute(baselines.delete().where(baselines.c.name == name))
            conn.execute(baselines.insert().values(name=name, run_id=run_id, promoted_at=now_iso()))

    # -- reading ---------------------------------------------------------------------------------

    def list_runs(self, limit: int | None = None) -> list[RunSummary]:
        """Newest first."""
        with self.engine.connect() as conn:
            query = sa.select(runs).order_by(runs.c.started_at.desc(), runs.c.run_id.desc())
            if limit:
                query = query.limit(limit)
            found = conn.execute(query).mappings().all()
            parts = conn.execute(sa.select(run_parts.c.run_id, run_parts.c.state, run_parts.c.row_count)).all()
            names = conn.execute(sa.select(baselines.c.name, baselines.c.run_id)).all()
        summaries = []
        for run in found:
            mine = [p for p in parts if p.run_id == run["run_id"]]
            summaries.append(
                RunSummary(
                    run_id=run["run_id"],
                    started_at=run["started_at"],
                    state=_run_state([p.state for p in mine]),
                    parts=len(mine),
                    rows=sum(p.row_count for p in mine),
                    profile=run["profile"],
                    git_commit=run["git_commit"],
                    ort_package=run["ort_package"],
                    baselines=tuple(sorted(n.name for n in names if n.run_id == run["run_id"])),
                )
            )
        return summaries

    def baseline_run(self, name: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(baselines.c.run_id).where(baselines.c.name == name)).scalar()

    def has_run(self, run_id: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(runs.c.run_id).where(runs.c.run_id == run_id)).first() is not None

    def run_folders(self, run_id: str) -> list[str]:
        """The run folders its parts were written to (as recorded: another machine's paths, maybe)."""
        with self.engine.connect() as conn:
            query = sa.select(run_parts.c.folder).where(run_parts.c.run_id == run_id)
            return [str(folder) for folder in conn.execute(query).scalars() if folder]

    def run_rows(self, run_id: str) -> list[dict[str, Any]]:
        """Every row of a run, its parts merged (a case in two parts: the later part wins)."""
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(results.c.case_id, results.c.row_json)
                .join(run_parts, (run_parts.c.run_id == results.c.run_id) & (run_parts.c.part == results.c.part))
                .where(results.c.run_id == run_id)
                .order_by(run_parts.c.started_at, results.c.part)
            ).all()
        merged = {case_id: json.loads(row_json) for case_id, row_json in found}
        return list(merged.values())

    def run_samples(self, run_id: str) -> dict[str, list[float]]:
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(latency_samples.c.case_id, latency_samples.c.samples_ms_json).where(
                    latency_samples.c.run_id == run_id
                )
            ).all()
        return {case_id: json.loads(text) for case_id, text in found}

    def run_info(self, run_id: str) -> dict[str, Any]:
        """The run's metadata (its first part's, with every part's state)."""
        with self.engine.connect() as conn:
            run = conn.execute(sa.select(runs).where(runs.c.run_id == run_id)).mappings().first()
            parts = conn.execute(
                sa.select(run_parts).where(run_parts.c.run_id == run_id).order_by(run_parts.c.started_at)
            ).mappings()
            parts = [dict(p) for p in parts]
        if run is None:
            raise HistoryError(f"no run {run_id!r} in {self.safe_url}; `python -m suite.cli.history list` shows them")
        meta = json.loads(parts[0]["metadata_json"]) if parts else {}
        meta.update(
            {
                "run_id": run_id,
                "started_at": run["started_at"],
                "state": _run_state([p["state"] for p in parts]),
                "parts": {p["part"]: p["state"] for p in parts},
            }
        )
        return meta

    def earlier_runs(self, before_run_id: str, limit: int = 20) -> list[str]:
        """Complete runs started before `before_run_id` (or all, if it is not stored), newest first."""
        with self.engine.connect() as conn:
            start = conn.execute(sa.select(runs.c.started_at).where(runs.c.run_id == before_run_id)).scalar()
            query = sa.select(runs.c.run_id).where(runs.c.run_id != before_run_id)
            if start is not None:
                query = query.where(runs.c.started_at <= start)
            candidates = conn.execute(query.order_by(runs.c.started_at.desc())).scalars().all()
            states = conn.execute(sa.select(run_parts.c.run_id, run_parts.c.state)).all()
        complete = [r for r in candidates if _run_state([s.state for s in states if s.run_id == r]) == "complete"]
        return complete[:limit]

    def case_history(self, case_ids: Iterable[str], run_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The rows of the given cases in the given runs, each with its run_id and the run's start time."""
        wanted = list(case_ids)
        if not wanted or not run_ids:
            return []
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(results.c.run_id, runs.c.started_at, results.c.row_json)
                .join(runs, runs.c.run_id == results.c.run_id)
                .where(results.c.run_id.in_(list(run_ids)) & results.c.case_id.in_(wanted))
            ).all()
        return [
            {**json.loads(row_json), "run_id": run_id, "started_at": started} for run_id, started, row_json in found
        ]


def _run_state(part_states: Sequence[str]) -> str:
    if not part_states:
        return "empty"
    if "interrupted" in part_states:
        return "interrupted"
    if "running" in part_states:
        return "running"
    return "complete"


def _result_values(part: RunPart, row: Mapping[str, Any]) -> dict[str, Any]:
    p50 = row.get("p50_ms")
    return {
        "run_id": part.run_id,
        "part": part.part,
        "case_id": str(row["case_id"]),
        "model": str(row.get("model", "")),
        "path": str(row.get("path", "")),
        "status": str(row.get("status", "")),
        "stage": str(row.get("stage", "")),
        "p50_ms": float(p50) if isinstance(p50, int | float) and math.isfinite(p50) else None,
        "row_json": redact(json.dumps(dict(row), sort_keys=True, default=str)),
    }
