"""The results history from the command line: list runs, import run folders, name baselines, diff.

    python -m suite.cli.history list                       # runs, newest first, with state and baselines
    python -m suite.cli.history import reports/runs/*      # store run folders (e.g. CI shards' artifacts)
    python -m suite.cli.history promote RUN nightly        # name a run as a baseline
    python -m suite.cli.history diff latest --baseline nightly --out reports/diff
    python -m suite.cli.history trend 'resnet18-*-lat.fp32.*'

A run reference (RUN, --baseline) is a run folder, a run id, a baseline name, `latest`
(the newest complete run other than the candidate) or `previous` (the newest complete run started
before the candidate). The database is the one a run with the same options uses (one rule,
suite.core.run_folder.history_url): --zoo-history URL, else $ZOO_HISTORY_URL, else
DIR/history.sqlite for --zoo-report-dir DIR (default: reports in the working folder). Each
command says on stderr which database it used.

`promote` refuses a run that judged no case, or fewer cases than the run the name points to
now (exit 2); --force promotes it anyway.
"""

from __future__ import annotations

import argparse
import fnmatch
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from suite.cli.pipes import quiet_on_closed_pipe
from suite.core.redact import redact
from suite.core.run_folder import HISTORY_ENV, HistoryError, history_url
from suite.history.diff import DiffThresholds, parse_fail_on
from suite.history.latency_verdict import LatencyThresholds
from suite.history.references import import_folder, promotion_refusal, resolve, run_id_for
from suite.history.store import HistoryStore
from suite.report.since_baseline import run_diff

EXIT_REGRESSED = 1
EXIT_USAGE = 2
PROG = "suite.cli.history"


# -- command line ----------------------------------------------------------------------------


def _say(text: str) -> None:
    """One line on stderr, any password in it hidden (stdout is the command's answer)."""
    print(redact(f"{PROG}: {text}"), file=sys.stderr)


def _store(args: argparse.Namespace) -> HistoryStore:
    """The history database by the rule a run uses, said on stderr: the wrong one misleads quietly."""
    url = history_url(args.zoo_history, args.zoo_report_dir)
    if url is None:
        raise HistoryError(
            f"this command needs a history database, and --zoo-history or ${HISTORY_ENV} says none; "
            "give --zoo-history URL, or --zoo-report-dir DIR for the DIR/history.sqlite a run there wrote"
        )
    store = HistoryStore(url)
    _say(f"using {store.safe_url}")
    return store


def _cmd_list(args: argparse.Namespace) -> int:
    store = _store(args)
    found = store.list_runs(args.limit)
    if not found:
        print(f"no runs in {store.safe_url}")
        return 0
    print(f"{'run':<36} {'started (UTC)':<26} {'state':<12} {'parts':>5} {'rows':>5}  profile  commit    package")
    for run in found:
        names = f"  [{', '.join(run.baselines)}]" if run.baselines else ""
        print(
            f"{run.run_id:<36} {run.started_at:<26} {run.state:<12} {run.parts:>5} {run.rows:>5}  "
            f"{run.profile:<8} {run.git_commit[:8]:<9} {run.ort_package}{names}"
        )
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    store = _store(args)
    for folder in args.folders:
        run_id, part, rows = import_folder(store, folder)
        print(f"imported {folder} as run {run_id} part {part}: {rows} rows")
    return 0


def _cmd_promote(args: argparse.Namespace) -> int:
    store = _store(args)
    run_id = run_id_for(args.run, store)
    refusal = None if args.force else promotion_refusal(store, run_id, args.name)
    if refusal:
        raise HistoryError(
            f"not promoting run {run_id} as {args.name!r}: {refusal}, or give --force to promote it anyway"
        )
    store.promote(run_id, args.name)
    print(f"baseline {args.name!r} -> run {run_id}")
    return 0


def _cmd_show_baseline(args: argparse.Namespace) -> int:
    run_id = _store(args).baseline_run(args.name)
    if run_id is None:
        print(f"no baseline named {args.name!r}")
        return 1
    print(run_id)
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    fail_on = parse_fail_on(args.fail_on)
    store = None
    if Path(args.candidate).is_dir() and Path(args.baseline).is_dir():
        _say("using no history database: both runs are run folders (no latency history either)")
    else:
        store = _store(args)
    candidate = resolve(args.candidate, store)
    thresholds = DiffThresholds(
        drift_factor=args.drift_factor,
        latency=LatencyThresholds(
            min_effect=args.min_effect,
            min_abs_ms=args.min_abs_ms,
            min_history=args.min_history,
            confidence=args.confidence,
        ),
    )
    outcome = run_diff(store, candidate, args.baseline, args.out, fail_on, thresholds)
    print((args.out / "diff.md").read_text() if "markdown" in outcome.paths else "")
    for kind, path in outcome.paths.items():
        print(f"{kind}: {path}")
    if outcome.gate:
        print(f"REGRESSION: {', '.join(outcome.gate)} (gate: {', '.join(fail_on) or 'none'})")
        return EXIT_REGRESSED
    return 0


def _cmd_trend(args: argparse.Namespace) -> int:
    store = _store(args)
    run_ids = [r.run_id for r in store.list_runs(args.runs)]
    rows = pd.DataFrame(store.case_history(_matching_cases(store, run_ids, args.cases), run_ids))
    if rows.empty:
        print(f"no case matches {args.cases!r} in the last {args.runs} runs")
        return 1
    if "p50_ms" not in rows.columns:
        rows["p50_ms"] = None
    rows = rows.sort_values(["case_id", "started_at"])
    for case_id, runs in rows.groupby("case_id", sort=True):
        print(case_id)
        for run in runs.to_dict("records"):
            p50 = (
                f"{run['p50_ms']:.4g} ms"
                if isinstance(run["p50_ms"], int | float) and math.isfinite(run["p50_ms"])
                else ""
            )
            print(f"  {run['started_at']:<26} {run['run_id']:<30} {run['status']:<14} {p50}")
    if args.out:
        from suite.report.plots.trend import trend_chart

        args.out.mkdir(parents=True, exist_ok=True)
        page = args.out / "trend.html"
        chart = trend_chart(rows, sorted(rows["case_id"].unique()))
        head = "<!DOCTYPE html><html><head><meta charset='utf-8'><title>zoo-suite trend</title></head>"
        page.write_text(f"{head}<body>{chart}</body></html>")
        print(f"html: {page}")
    return 0


def _matching_cases(store: HistoryStore, run_ids: Sequence[str], pattern: str) -> list[str]:
    seen = {str(r["case_id"]) for run_id in run_ids[:1] for r in store.run_rows(run_id)}
    return sorted(c for c in seen if fnmatch.fnmatch(c, pattern))


class _DeprecatedDb(argparse.Action):
    """--db, the option's name before it took pytest's: still taken, with a note."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        _say("--db is deprecated; give --zoo-history, as pytest takes it")
        setattr(namespace, self.dest, values)


def _database_options(parser: argparse.ArgumentParser, top: bool) -> None:
    """--zoo-history and --zoo-report-dir, before the command or after it.

    A subcommand's copies default to SUPPRESS: argparse would otherwise overwrite a value given
    before the command with the subcommand's default.
    """
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--zoo-history",
        metavar="URL",
        default=default,
        help=f"the history database (default ${HISTORY_ENV}, else DIR/history.sqlite of --zoo-report-dir), "
        "as for a run with the same options",
    )
    parser.add_argument(
        "--zoo-report-dir",
        metavar="DIR",
        default=default,
        help="the report folder a run was given, whose history.sqlite is the default (default: reports)",
    )
    parser.add_argument("--db", dest="zoo_history", default=default, action=_DeprecatedDb, help=argparse.SUPPRESS)


@quiet_on_closed_pipe
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m suite.cli.history", description=__doc__.split("\n\n")[0])
    _database_options(parser, top=True)
    database = argparse.ArgumentParser(add_help=False)
    _database_options(database, top=False)
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", parents=[database], help="runs, newest first")
    listing.add_argument("--limit", type=int, default=30)
    listing.set_defaults(func=_cmd_list)
    importing = commands.add_parser(
        "import", parents=[database], help="store run folders (shards of one run become one run)"
    )
    importing.add_argument("folders", nargs="+", type=Path)
    importing.set_defaults(func=_cmd_import)
    promoting = commands.add_parser("promote", parents=[database], help="name a run as a baseline")
    promoting.add_argument("run", help="run id, folder's run, `latest` or another baseline name")
    promoting.add_argument("name")
    promoting.add_argument(
        "--force", action="store_true", help="promote a run that judged no case, or fewer than the one NAME names"
    )
    promoting.set_defaults(func=_cmd_promote)
    showing = commands.add_parser(
        "show-baseline", parents=[database], help="the run a baseline name points at (exit 1 if none)"
    )
    showing.add_argument("name")
    showing.set_defaults(func=_cmd_show_baseline)
    diffing = commands.add_parser(
        "diff", parents=[database], help="compare a candidate run with a baseline; exit 1 on a regression"
    )
    diffing.add_argument("candidate", nargs="?", default="latest", help="run folder, run id or `latest`")
    diffing.add_argument("--baseline", default="previous", help="run folder, run id, baseline name, `previous`")
    diffing.add_argument("--out", type=Path, default=Path("reports/diff"), help="where diff.csv/.md/.html go")
    diffing.add_argument(
        "--fail-on", default="correctness", help="correctness, drift, latency, removed (comma list), all, none"
    )
    diffing.add_argument("--min-effect", type=float, default=LatencyThresholds.min_effect)
    diffing.add_argument("--min-history", type=int, default=LatencyThresholds.min_history)
    diffing.add_argument("--min-abs-ms", type=float, default=LatencyThresholds.min_abs_ms)
    diffing.add_argument("--confidence", type=float, default=LatencyThresholds.confidence)
    diffing.add_argument("--drift-factor", type=float, default=DiffThresholds.drift_factor)
    diffing.set_defaults(func=_cmd_diff)
    trending = commands.add_parser(
        "trend", parents=[database], help="status and p50 of matching cases over the last runs"
    )
    trending.add_argument("cases", help="case id glob, e.g. 'resnet18-*-lat.fp32.*'")
    trending.add_argument("--runs", type=int, default=10)
    trending.add_argument("--out", type=Path, help="also write trend.html (status and p50 over the runs) here")
    trending.set_defaults(func=_cmd_trend)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (HistoryError, ValueError) as exc:
        _say(str(exc))
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
