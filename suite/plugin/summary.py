"""What the terminal shows: the header lines at the start and zoo-suite's summary at the end."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from suite.core.redact import redact
from suite.core.rows import status_tally
from suite.core.run_folder import EXIT_REGRESSION
from suite.report.diff_groups import regressed_groups
from suite.runtime.environment import library_versions

if TYPE_CHECKING:
    from suite.plugin.session import RunSession

# Below this much inherent work a run's wall time is mostly pytest's and the workers' start-up, and
# the overhead ratio (core-seconds over inherent seconds) says nothing about the harness.
MEANINGFUL_INHERENT_S = 30.0


def header_lines(run: RunSession) -> list[str]:
    """pytest's report header: the selection, the models, versions, providers, the shard, notices."""
    settings = run.settings
    specs = settings.specs()
    versions = ", ".join(f"{k} {v}" for k, v in library_versions().items())
    runtime = run.runtime
    lines = [
        f"zoo-suite: {settings.selection.describe()}",
        f"zoo-suite: {len(specs)} models: {', '.join(s.name for s in specs)}",
        f"zoo-suite: {versions}",
        f"zoo-suite: {runtime['ort_package']} {runtime['ort_version']} offers {runtime['ort_providers']}",
    ]
    if settings.regression.shard is not None:
        lines.append(
            f"zoo-suite: shard {settings.regression.shard.label} of run {run.run_id}: "
            f"{', '.join(sorted(settings.regression.shard_models or ())) or 'no models'}"
        )
    if settings.providers:
        lines.append(
            f"zoo-suite: latency on {', '.join(p.label for p in settings.providers)} "
            f"({settings.latency.threads.intra_op} intra-op / {settings.latency.threads.inter_op} inter-op threads)"
        )
    return lines + [f"zoo-suite: NOTE: {notice}" for notice in settings.notices]


def write_summary(terminalreporter: Any, run: RunSession) -> None:
    """zoo-suite's section at the end: counts, exports, notices, where the reports are, the diff."""
    exports = run.export_counts()
    terminalreporter.section("zoo-suite")
    terminalreporter.write_line(f"{len(run.rows)} cases: {status_tally(run.rows.values())}")
    terminalreporter.write_line(f"exports run {exports['exports_run']}, reused from cache {exports['exports_cached']}")
    if run.overhead is not None and run.inherent_seconds >= MEANINGFUL_INHERENT_S:
        terminalreporter.write_line(
            f"harness overhead: {run.overhead:.2f} x the inherent work (exports, conversions, sessions, "
            "timed loops); core-seconds used over seconds spent in them"
        )
    for notice in run.settings.notices:
        terminalreporter.write_line(f"NOTE: {notice}")
    for kind, path in run.report_paths.items():
        terminalreporter.write_line(f"{kind}: {path}")
    if run.history_note:
        terminalreporter.write_line(redact(run.history_note))
    if run.diff is not None:
        from suite.history.diff import counts

        found = counts(run.diff.diff)
        terminalreporter.write_line(
            f"diff vs {run.diff.baseline.run_id}: " + ", ".join(f"{k} {v}" for k, v in found.items() if v)
        )
        # One line per cause: a broken export's derived cases (its latency, converter rows) under its root.
        for group in regressed_groups(run.diff.diff)[:20]:
            root = group.root
            more = f" (+{len(group.derived)} derived: {group.label()})" if group.derived else ""
            terminalreporter.write_line(f"REGRESSED {root['case_id']}: {root['why']}: {root['cand_message']}{more}")
        if run.diff.gate:
            terminalreporter.write_line(f"REGRESSION: {', '.join(run.diff.gate)} (exit {EXIT_REGRESSION})")
    if run.nothing_judged:
        terminalreporter.write_line(f"ERROR: {run.nothing_judged}")
