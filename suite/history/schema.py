"""The history database's layout: its tables, its schema version and the migrations that reach it.

A database in the field may hold any earlier version; opening it runs the migrations it lacks,
one process at a time, in the transaction that opens it.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from suite.core.run_folder import HistoryError

SCHEMA_VERSION = 1

_meta = sa.MetaData()
schema_info = sa.Table("schema_info", _meta, sa.Column("version", sa.Integer, nullable=False))
runs = sa.Table(
    "runs",
    _meta,
    sa.Column("run_id", sa.String(200), primary_key=True),
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("profile", sa.String(100), nullable=False, default=""),
    sa.Column("selection", sa.Text, nullable=False, default=""),
    sa.Column("git_commit", sa.String(100), nullable=False, default=""),
    sa.Column("hostname", sa.String(200), nullable=False, default=""),
    sa.Column("ort_package", sa.String(100), nullable=False, default=""),
)
run_parts = sa.Table(
    "run_parts",
    _meta,
    sa.Column("run_id", sa.String(200), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("part", sa.String(50), primary_key=True),
    sa.Column("state", sa.String(20), nullable=False),  # running, complete, interrupted
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("finished_at", sa.String(40)),
    sa.Column("row_count", sa.Integer, nullable=False, default=0),
    sa.Column("folder", sa.Text, nullable=False, default=""),
    sa.Column("metadata_json", sa.Text, nullable=False, default="{}"),
)
results = sa.Table(
    "results",
    _meta,
    sa.Column("run_id", sa.String(200), primary_key=True),
    sa.Column("part", sa.String(50), primary_key=True),
    sa.Column("case_id", sa.String(400), primary_key=True),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("path", sa.String(200), nullable=False),
    sa.Column("status", sa.String(30), nullable=False),
    sa.Column("stage", sa.String(50), nullable=False),
    sa.Column("p50_ms", sa.Float),
    sa.Column("row_json", sa.Text, nullable=False),  # every column of results.csv
    sa.ForeignKeyConstraint(["run_id", "part"], ["run_parts.run_id", "run_parts.part"]),
)
latency_samples = sa.Table(
    "latency_samples",
    _meta,
    sa.Column("run_id", sa.String(200), primary_key=True),
    sa.Column("part", sa.String(50), primary_key=True),
    sa.Column("case_id", sa.String(400), primary_key=True),
    sa.Column("samples_ms_json", sa.Text, nullable=False),  # per-round times, in round order
    sa.ForeignKeyConstraint(["run_id", "part"], ["run_parts.run_id", "run_parts.part"]),
)
baselines = sa.Table(
    "baselines",
    _meta,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("run_id", sa.String(200), sa.ForeignKey("runs.run_id"), nullable=False),
    sa.Column("promoted_at", sa.String(40), nullable=False),
)
sa.Index("ix_results_case", results.c.case_id)


def _create_v1(conn: Connection) -> None:
    _meta.create_all(conn)


# Index = the version a migration produces minus one. Append, never edit: databases in the
# field hold every earlier version.
MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_create_v1,)


def migrate(conn: Connection, database: str) -> None:
    """Bring the schema to SCHEMA_VERSION inside `conn`'s transaction (`database`: its name in errors)."""
    if conn.dialect.name == "postgresql":
        # One migrating process at a time; the lock ends with the transaction.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(7346251)"))
    schema_info.create(conn, checkfirst=True)
    version = conn.execute(sa.select(schema_info.c.version)).scalar()
    if version is None:
        conn.execute(schema_info.insert().values(version=0))
        version = 0
    if version > SCHEMA_VERSION:
        raise HistoryError(
            f"the history database {database} has schema version {version}, newer than this "
            f"zoo-suite's {SCHEMA_VERSION}; upgrade zoo-suite or use another database"
        )
    for target in range(version + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[target - 1](conn)
        conn.execute(schema_info.update().values(version=target))
