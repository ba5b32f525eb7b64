"""Stored runs over time as small multiples, one panel per case: p50 where the case was timed, else a
strip of statuses (trend_chart)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from suite.core.record import Status
from suite.report.cells import STATUS_COLOURS
from suite.report.plots.figure import DPI, WIDTH_IN, as_text, figure_html, numeric_column, positive_finite, shorten

# A chart with more cases or runs than this shows the first cases and the latest runs.
TREND_MAX_CASES = 12
TREND_MAX_RUNS = 30
TREND_COLUMNS = 3


def trend_chart(trend: pd.DataFrame, case_ids: Sequence[str]) -> str:
    """Small multiples, one panel per case: p50 over runs, or a status strip without latencies.

    Args:
        trend: One row per run and case with columns run_id, started_at (ISO string),
            case_id, status and p50_ms (NaN for non-latency cases).
        case_ids: The cases to draw, in panel order; at most 12 are drawn.

    Returns:
        A ``<figure>`` with the panels, or "" when none of case_ids is in trend.
    """
    needed = {"run_id", "case_id", "status"}
    if trend is None or trend.empty or not needed <= set(trend.columns):
        return ""
    wanted = [c for c in dict.fromkeys(str(c) for c in case_ids) if c in set(as_text(trend["case_id"]))]
    if not wanted:
        return ""
    shown = wanted[:TREND_MAX_CASES]
    runs = _run_order(trend)
    all_runs = len(runs)
    runs = runs[-TREND_MAX_RUNS:]
    fig = _trend_figure(len(shown))
    for index, case_id in enumerate(shown):
        ax = fig.add_subplot(math.ceil(len(shown) / TREND_COLUMNS), min(len(shown), TREND_COLUMNS), index + 1)
        _draw_trend_panel(ax, _case_runs(trend, case_id, runs), runs)
        ax.set_title(shorten(case_id, 44), fontsize=8)
        # x labels only under the lowest panel of each column: the panels share the run axis.
        if index + TREND_COLUMNS < len(shown):
            ax.tick_params(labelbottom=False)
    fig.suptitle(f"p50 latency and status over the last {len(runs)} runs", fontsize=10)
    caption = (
        "One panel per case, runs in time order. Markers: pass green, xfail purple, any other status red; "
        "a cross at the bottom marks a run without a latency. Panels without latencies show the status strip."
    )
    if len(wanted) > len(shown):
        caption += f" {len(shown)} of {len(wanted)} cases shown."
    if all_runs > len(runs):
        caption += f" Last {len(runs)} of {all_runs} runs."
    return figure_html(fig, "p50 latency and status per case over runs", caption)


def _trend_figure(panels: int) -> Figure:
    columns = min(panels, TREND_COLUMNS)
    rows = math.ceil(panels / TREND_COLUMNS)
    width = min(WIDTH_IN, 3.4 * columns + 0.4)
    return Figure(figsize=(width, 0.8 + 2.3 * rows), dpi=DPI, layout="constrained")


def _run_order(trend: pd.DataFrame) -> list[str]:
    """Run ids oldest first: by started_at where it parses, then by run id."""
    started = trend.get("started_at", pd.Series(None, index=trend.index))
    stamps = pd.to_datetime(started, errors="coerce", utc=True, format="ISO8601")
    runs = pd.DataFrame({"run_id": as_text(trend["run_id"]), "started": stamps})
    first = runs.groupby("run_id", sort=False)["started"].min().reset_index()
    first = first.sort_values(["started", "run_id"], na_position="last", kind="stable")
    return list(first["run_id"])


def _case_runs(trend: pd.DataFrame, case_id: str, runs: Sequence[str]) -> pd.DataFrame:
    """x (index into runs), status and p50 for one case; the last row wins where a run has two."""
    rows = trend[as_text(trend["case_id"]) == case_id]
    position = {run: i for i, run in enumerate(runs)}
    frame = pd.DataFrame(
        {
            "x": as_text(rows["run_id"]).map(position),
            "status": as_text(rows["status"]),
            "p50": numeric_column(rows, "p50_ms"),
        }
    )
    frame = frame.dropna(subset=["x"]).drop_duplicates("x", keep="last")
    return frame.astype({"x": "int64"}).sort_values("x").reset_index(drop=True)


def _status_colour(status: str) -> str:
    """Pass green, xfail purple, anything else red; the report's own colours, so the page reads as one."""

    if status in (Status.PASS.value, Status.XFAIL.value):
        return STATUS_COLOURS[status]
    return STATUS_COLOURS[Status.CRASH.value]


def _draw_trend_panel(ax: Axes, case: pd.DataFrame, runs: Sequence[str]) -> None:
    colours = [_status_colour(s) for s in case["status"]]
    timed = positive_finite(case["p50"])
    if case.empty:
        ax.text(0.5, 0.5, "not in these runs", transform=ax.transAxes, ha="center", fontsize=7, color="#777777")
        ax.set_yticks([])
    elif timed.any():
        _draw_latency_trend(ax, case, timed, colours)
    else:
        _draw_status_strip(ax, case, colours, len(runs))
    ax.set_xlim(-0.6, len(runs) - 0.4)
    step = max(1, math.ceil(len(runs) / 8))  # at most eight run labels under a panel
    ticks = list(range(len(runs)))[::-1][::step][::-1]  # always label the newest run
    ax.set_xticks(ticks, [_short_run_id(runs[i]) for i in ticks], rotation=60, ha="right", fontsize=6)
    ax.tick_params(axis="y", labelsize=7)


def _draw_latency_trend(ax: Axes, case: pd.DataFrame, timed: pd.Series, colours: list[str]) -> None:
    """p50 line through the timed runs; a cross on the floor for runs of the case without a latency."""
    points = case[timed]
    ax.plot(points["x"], points["p50"], color="#999999", linewidth=1, zorder=1)
    ax.scatter(
        points["x"],
        points["p50"],
        c=[c for c, t in zip(colours, timed, strict=True) if t],
        s=28,
        edgecolors="#333333",
        linewidths=0.6,
        zorder=2,
    )
    missing = case[~timed]
    if not missing.empty:
        ax.scatter(
            missing["x"],
            [0.04] * len(missing),
            c=[c for c, t in zip(colours, timed, strict=True) if not t],
            marker="X",
            s=30,
            edgecolors="#333333",
            linewidths=0.5,
            transform=ax.get_xaxis_transform(),
            zorder=2,
        )
    low, high = float(points["p50"].min()), float(points["p50"].max())
    margin = max((high - low) * 0.25, high * 0.05)
    ax.set_ylim(max(0.0, low - margin), high + margin)
    ax.set_ylabel("p50 ms", fontsize=7)
    ax.grid(axis="y", color="#eeeeee", linewidth=0.6)


def _draw_status_strip(ax: Axes, case: pd.DataFrame, colours: list[str], runs: int) -> None:
    """One square per run; the status is written where it changes, so long strips stay legible."""
    size = min(70.0, (180 / max(runs, 1)) ** 2 * 0.5)  # squares shrink so thirty runs still stay apart
    ax.scatter(case["x"], [0] * len(case), c=colours, marker="s", s=size, edgecolors="#333333", linewidths=0.5)
    previous = None
    for x, status in zip(case["x"], case["status"], strict=True):
        if status != previous:
            ax.text(x, 0.3, status or "?", rotation=45, rotation_mode="anchor", fontsize=7, ha="left", va="bottom")
        previous = status
    ax.set_ylim(-0.6, 1.6)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)


def _short_run_id(run_id: str) -> str:
    """'20250131-142501-4242' (reports/runs naming) -> '01-31 14:25'; other ids cut to 11 characters."""
    match = re.match(r"^\d{4}(\d{2})(\d{2})-(\d{2})(\d{2})\d{2}", run_id)
    if match:
        month, day, hour, minute = match.groups()
        return f"{month}-{day} {hour}:{minute}"
    return run_id if len(run_id) <= 11 else run_id[:10] + "…"
