"""The run session: one run folder, rows streamed to it as cases end, continuing or resuming an
earlier part, the history record, the diff against a baseline, and the report at the end.

Only the controller (or a process without xdist) writes; an xdist worker's session sends its rows
on the test reports (suite.plugin.rows) and its worker counts on workeroutput.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from suite.core.inherent import overhead_ratio
from suite.core.record import Status
from suite.core.redact import redact
from suite.core.rows import judged_count, status_tally
from suite.core.run_folder import (
    EXIT_REGRESSION,
    ROWS_FILE,
    SAMPLES_FILE,
    HistoryError,
    RunFolder,
    RunPart,
    mend_torn_tail,
    now_iso,
    read_run_folder,
)
from suite.paths import PATHS
from suite.plugin.baseline import baseline_artifacts, keep_timed_artifacts
from suite.plugin.rows import NOT_RUN, longrepr_line, row_from_report, row_without_record, samples_from_report
from suite.plugin.settings import ZooSettings
from suite.report.results import new_run_dir, write_run
from suite.runtime.environment import run_metadata
from suite.runtime.providers import runtime_inventory


def folder_name(run_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)


def own_folder(settings: ZooSettings, run_id: str) -> Path:
    """The run folder this invocation writes: reports/runs/<run id>[-shardKofN]."""
    shard = settings.regression.shard
    suffix = f"-shard{shard.index}of{shard.count}" if shard else ""
    return settings.reports_dir / "runs" / (folder_name(run_id) + suffix)


class RunSession:
    """Per-process run state, and the hooks that gather rows and write the run folder and history."""

    def __init__(self, config: pytest.Config, settings: ZooSettings) -> None:
        self.config = config
        self.settings = settings
        self.selection = settings.selection
        self.regression = settings.regression
        self.latency = settings.latency  # with --zoo-baseline, gains the baseline's artifacts at session start
        self.runtime = runtime_inventory()
        self.is_worker = hasattr(config, "workerinput")
        self.rows: dict[str, dict[str, Any]] = {}
        self.collected: dict[str, None] = {}  # the zoo cases' node ids, in run order (an ordered set)
        self.run_dir: Path | None = None
        self.started = time.time()
        self.report_paths: dict[str, Path] = {}
        self.worker_stats: list[dict[str, dict[str, int]]] = []
        self.samples: dict[str, list[float]] = {}
        self.overhead: float | None = None  # the run's core-seconds over its inherent work (suite.core.inherent)
        self.inherent_seconds = 0.0
        self.nothing_judged = ""  # the one line that says why a run that judged no case fails
        self.started_at = now_iso()
        self.run_id = self.regression.run_id or f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        self.store: Any = None  # a suite.history.store.HistoryStore, when a history is in use
        self.diff: Any = None  # a suite.report.since_baseline.DiffOutcome, with --zoo-baseline
        self.history_note = ""
        self.earlier: RunFolder | None = None  # with --zoo-continue: what the run's earlier part wrote
        self.history_begun = False

    # -- worker processes' counts -------------------------------------------------------------

    def record_worker_stats(self, stats: dict[str, dict[str, int]]) -> None:
        """Worker starts and calls of this process; an xdist worker sends them to the controller."""
        if self.is_worker:
            self.config.workeroutput["zoo_worker_stats"] = json.dumps(stats)  # type: ignore[attr-defined]
        else:
            self.worker_stats.append(stats)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        stats = getattr(node, "workeroutput", {}).get("zoo_worker_stats")
        if stats:
            self.worker_stats.append(json.loads(stats))

    def worker_totals(self) -> dict[str, dict[str, int]]:
        totals: dict[str, dict[str, int]] = {}
        for stats in self.worker_stats:
            for name, counts in stats.items():
                entry = totals.setdefault(name, {"starts": 0, "calls": 0, "ended_holding_over_half_the_budget": 0})
                for summed in ("starts", "calls", "ended_holding_over_half_the_budget"):
                    entry[summed] += counts.get(summed, 0)
                for largest in ("peak_rss_mb", "budget_mb"):  # the largest process's, and its budget
                    if largest in counts:
                        entry[largest] = max(entry.get(largest, 0), counts[largest])
        return totals

    # -- start: the history, the baseline, the earlier part -----------------------------------

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # A database named on the command line, or a baseline, is checked now, not after an hour
        # of cases. The run itself is stored from its first row on (_begin_history): a pytest
        # session without zoo cases (the project's own tests) leaves no trace in the history.
        if self.is_worker:
            return
        baseline = self.regression.baseline
        try:
            if self.settings.run.continue_run or self.settings.run.resume:
                self._continue_run()
            if self.regression.history_url is not None and (self.regression.history_named or baseline):
                self.store = open_store(self.regression.history_url)
            if baseline and not Path(baseline).is_dir():
                if self.store is None:
                    raise HistoryError(f"--zoo-baseline {baseline!r} is not a run folder, and --zoo-history is none")
                from suite.history.references import run_id_for

                run_id_for(baseline, self.store, exclude=self.run_id)
            if baseline and "latency" in self.selection.paths:
                self._time_against_baseline(baseline)
        except HistoryError as exc:
            raise pytest.UsageError(redact(f"zoo-suite: {exc}")) from None

    def _time_against_baseline(self, baseline: str) -> None:
        """The baseline's timed artifacts, by case: this run's latency cases time A/B against them."""
        assert self.latency.ab is not None
        ab = dataclasses.replace(self.latency.ab, baseline=baseline_artifacts(baseline, self.store, self.run_id))
        self.latency = dataclasses.replace(self.latency, ab=ab)

    def _continue_run(self) -> None:
        """Take up the run folder an earlier invocation of this run id wrote (make zoo's latency part)."""
        if self.regression.run_id is None:
            raise HistoryError("--zoo-continue needs --zoo-run-id (or ZOO_RUN_ID) naming the run to continue")
        self.run_dir = own_folder(self.settings, self.run_id)
        if not (self.run_dir / ROWS_FILE).is_file():
            resume = self.settings.run.resume
            raise HistoryError(
                f"--zoo-resume {resume}: {self.run_dir} has no {ROWS_FILE}; give the id of an interrupted run "
                "(its folder's name under reports/runs)"
                if resume
                else f"--zoo-continue: {self.run_dir} has no {ROWS_FILE} to continue; "
                "run the first part with the same --zoo-run-id"
            )
        mend_torn_tail(self.run_dir / ROWS_FILE)  # a killed run's half-written last row; ours append after it
        self.earlier = read_run_folder(self.run_dir)
        self.samples.update(self.earlier.samples)

    # -- the history ------------------------------------------------------------------------

    def _part_label(self) -> str:
        """The shard, and the paths when they were named (the parts of one run must differ)."""
        shard = self.regression.shard.label if self.regression.shard else ""
        paths = "+".join(self.selection.paths) if self.settings.run.paths_named else ""
        return " ".join(p for p in (shard, paths) if p) or "all"

    def _begin_history(self) -> None:
        """Store the part as running (a process killed later leaves it visibly so)."""
        if self.regression.history_url is None:
            return
        try:
            if self.store is None:
                self.store = open_store(self.regression.history_url)
            self.store.begin_part(self._run_part())
        except Exception as exc:  # noqa: BLE001 - the run goes on; its folder keeps everything
            self.store = None
            self.history_note = (
                f"history: not stored ({type(exc).__name__}: {str(exc)[:200]}); "
                f"import the run later with: python -m suite.cli.history import {self.run_dir}"
            )

    def _run_part(self, metadata: dict[str, Any] | None = None) -> RunPart:
        return RunPart(
            run_id=self.run_id,
            part=self._part_label(),
            started_at=self.started_at,
            metadata=metadata or {"profile": self.selection.profile, "selection": self.selection.describe()},
            folder=str(self.run_dir or ""),
        )

    def _store_run(self, rows: list[dict[str, Any]], meta: dict[str, Any]) -> None:
        """The part's rows and samples into the history, in one transaction; a failure is said, not raised."""
        if self.store is None:
            return
        try:
            self.store.write_part(self._run_part(meta), rows, self.samples, meta["state"])
            self.history_note = f"history: run {self.run_id} stored in {self.store.safe_url}"
        except Exception as exc:  # noqa: BLE001 - the run folder still holds everything; say how to import it
            self.history_note = (
                f"history: could not store the run ({type(exc).__name__}: {str(exc)[:200]}); "
                f"import it later with: python -m suite.cli.history import {self.run_dir}"
            )

    # -- rows as cases end -------------------------------------------------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker or "[" not in report.nodeid or report.nodeid in self.rows:
            return
        samples = samples_from_report(report)
        row = row_from_report(report)
        is_case = report.nodeid in self.collected  # a parametrized test of another kind is no zoo case
        if row is None and is_case and (report.when == "call" or (report.when == "setup" and not report.passed)):
            # No row attached: the test died before zoo_check (a fixture error, a lost xdist worker).
            status = Status.SKIP if report.skipped else Status.CRASH if report.failed else None
            if status is not None:
                row = row_without_record(report.nodeid, status, longrepr_line(report))
        if row is not None:
            row.update(self.runtime)  # which onnxruntime package ran it, for merging environments
            self.rows[report.nodeid] = row
            self._stream_row(row)
            if samples:
                self.samples[str(row["case_id"])] = samples
                self._stream(SAMPLES_FILE, {"case_id": row["case_id"], "samples_ms": samples})

    def _stream_row(self, row: dict[str, Any]) -> None:
        # Rows are appended as they arrive, so even a killed run leaves what it did.
        self._stream(ROWS_FILE, row)

    def _stream(self, name: str, item: dict[str, Any]) -> None:
        if self.run_dir is None:
            self.run_dir = new_run_dir(self.settings.reports_dir, own_folder(self.settings, self.run_id).name)
        if not self.history_begun:
            self.history_begun = True
            self._keep_benchmark_json(self.run_dir)
            self._begin_history()
        with (self.run_dir / name).open("a") as handle:
            handle.write(json.dumps(item, default=str) + "\n")

    def _keep_benchmark_json(self, run_dir: Path) -> None:
        """pytest-benchmark's own JSON goes beside the rows, unless --benchmark-json names a place."""
        benchmarks = getattr(self.config, "_benchmarksession", None)
        if benchmarks is not None and "latency" in self.selection.paths and not benchmarks.json:
            benchmarks.json = run_dir / "benchmark.json"

    # -- the end: metadata, history, diff, report ---------------------------------------------

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> Iterator[None]:
        # Outermost and before the yield: the run folder and the history are written before
        # other plugins finish (pytest-benchmark saves its JSON there), so their failure
        # cannot cost the rows.
        self._finish(session, exitstatus)
        yield

    def _finish(self, session: pytest.Session, exitstatus: int) -> None:
        shard = self.regression.shard
        if shard is not None and self.regression.shard_models == frozenset() and not self.collected:
            session.exitstatus = pytest.ExitCode.OK  # more shards than models: said in the header, not an error
        if self.is_worker or not (self.rows or self.collected) or self.config.option.collectonly:
            return  # --collect-only runs nothing: no run folder, no history
        unfinished = [nodeid for nodeid in self.collected if nodeid not in self.rows]
        for nodeid in unfinished:
            self.rows[nodeid] = row_without_record(nodeid, Status.SKIP, NOT_RUN)
            self._stream_row(self.rows[nodeid])
        assert self.run_dir is not None
        interrupted = bool(unfinished) or exitstatus == pytest.ExitCode.INTERRUPTED
        meta = self._metadata("interrupted" if interrupted else "complete")
        rows = list(self.rows.values())
        whole, meta_whole = self._with_earlier_part(rows, meta)
        meta["judged_cases"] = meta_whole["judged_cases"] = judged_count(whole)
        # A resumed part is the killed one finished: its stored rows are the earlier ones with ours.
        # (A continued run's earlier part is a part of its own, already stored.)
        self._store_run(whole if self.settings.run.resume else rows, meta)
        rows, meta = whole, meta_whole
        if self.latency.ab is not None:
            keep_timed_artifacts(rows, self.latency.ab.store, self.run_dir)
        self.overhead = meta.get("overhead_ratio")
        self.inherent_seconds = sum(float(p.get("inherent_seconds") or 0) for p in meta.get("parts", []))
        summary_html = self._diff_against_baseline(rows, meta)
        self.report_paths = write_run(self.run_dir, rows, meta, summary_html)
        if meta["judged_cases"] == 0:  # all skipped, unsupported or not run: a run that tested nothing is no pass
            self.nothing_judged = nothing_judged_line(rows)
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
            return
        if self.diff is not None:
            self.report_paths.update({f"diff {k}": v for k, v in self.diff.paths.items()})
            gate_failed = bool(self.diff.gate)
            # With a baseline the diff is the verdict: known failures that still fail are not news.
            if gate_failed:
                session.exitstatus = EXIT_REGRESSION
            elif session.exitstatus == pytest.ExitCode.TESTS_FAILED:
                session.exitstatus = pytest.ExitCode.OK

    def _metadata(self, state: str) -> dict[str, Any]:
        """metadata.json of this part: where and how it ran, what it counted."""
        meta = run_metadata(
            Path(self.config.rootpath), self.selection.describe(), list(self.config.invocation_params.args)
        )
        meta["wall_seconds"] = round(time.time() - self.started, 1)
        meta.update(self.export_counts())
        meta["worker_processes"] = self.worker_totals()
        meta["onnxruntime"] = self.runtime
        if "latency" in self.selection.paths:
            meta["latency"] = {
                "providers": [p.label for p in self.settings.providers],
                "intra_op_threads": self.latency.threads.intra_op,
                "inter_op_threads": self.latency.threads.inter_op,
                "target_seconds": self.latency.plan.target_s,
                "large_batch": self.latency.large_batch,
            }
        meta["notices"] = list(self.settings.notices)
        meta["paths"] = [path.describe() for path in PATHS]  # how the report shows each path's rows
        meta["input_draw"] = self.settings.cases.input_draw
        meta.update(
            {
                "run_id": self.run_id,
                "shard": self.regression.shard.label if self.regression.shard else "",
                "started_at": self.started_at,
                "state": state,
                "profile": self.selection.profile,
            }
        )
        return meta

    def _with_earlier_part(
        self, rows: list[dict[str, Any]], meta: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The whole run's rows and metadata: the earlier part's, then this one's (which win on a case)."""
        counted = ("wall_seconds", "exports_run", "exports_cached")
        this_part = {
            "part": self._part_label(),
            "selection": meta["selection"],
            **{k: meta[k] for k in counted},
            # For the harness overhead: cases ran in this many processes, spending this much inherent work.
            "processes": int(getattr(self.config.option, "numprocesses", None) or 1),
            "inherent_seconds": round(sum(float(r.get("inherent_seconds") or 0.0) for r in rows), 3),
        }
        if self.earlier is None:
            return rows, {**meta, "parts": [this_part], "overhead_ratio": overhead_ratio([this_part])}
        ours = {str(row["case_id"]) for row in rows}
        merged = [row for row in self.earlier.rows if str(row["case_id"]) not in ours] + rows
        parts = [*self.earlier.metadata.get("parts", []), this_part]
        totals = {k: round(sum(float(p.get(k) or 0) for p in parts), 1) for k in counted}
        totals["exports_run"], totals["exports_cached"] = int(totals["exports_run"]), int(totals["exports_cached"])
        return merged, {**meta, "parts": parts, **totals, "overhead_ratio": overhead_ratio(parts)}

    def _diff_against_baseline(self, rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
        """The diff section for results.html (diff.csv/.md/.html beside it), or "" without --zoo-baseline."""
        if not self.regression.baseline or self.run_dir is None:
            return ""
        from suite.history.diff import RunData
        from suite.report.diff import render_diff_section
        from suite.report.results import rows_frame
        from suite.report.since_baseline import run_diff

        candidate = RunData(self.run_id, rows_frame(rows), self.samples, meta)
        try:
            self.diff = run_diff(self.store, candidate, self.regression.baseline, self.run_dir, self.regression.fail_on)
        except HistoryError as exc:
            self.history_note += f"\nNOTE: no diff: {exc}"
            return ""
        return render_diff_section(self.diff.diff, self.diff.baseline, candidate, self.diff.gate, self.diff.trend)

    def export_counts(self) -> dict[str, int]:
        flags = [r.get("export_cached") for r in self.rows.values()]
        return {"exports_run": flags.count(False), "exports_cached": flags.count(True)}


def open_store(url: str) -> Any:
    """The history database (SQLAlchemy is imported only here, when a history is in use)."""
    try:
        from suite.history.store import HistoryStore
    except ImportError as exc:
        raise HistoryError(
            f"the results history needs SQLAlchemy ({exc}); pip install 'sqlalchemy>=2,<3' "
            "(and psycopg for PostgreSQL), or run with --zoo-history none"
        ) from None
    return HistoryStore(url)


def nothing_judged_line(rows: list[dict[str, Any]]) -> str:
    """Why a run that judged no case fails: its counts and the first row's message."""
    first = str(rows[0].get("message") or "") if rows else ""
    return (
        f"zoo-suite: no case was judged ({len(rows)} cases: {status_tally(rows)}; the first says: {first[:160]}); "
        "the selection tested nothing, so this run is no pass and cannot be a baseline: check the options "
        "(e.g. --zoo-opsets, --zoo-models, --zoo-exporters)"
    )
