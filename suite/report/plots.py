"""Charts for the HTML report: small matplotlib PNGs embedded as base64 <img> tags.

Only matplotlib's object API (Figure + FigureCanvasAgg) is used, never pyplot: pyplot
keeps a global figure registry and a process-wide backend, which other code in the same
process (and other threads) would share. A Figure drawn on its own Agg canvas neither
reads nor changes the backend or the registry, and is cleared once its PNG is written.

Every function returns an HTML fragment, or "" when there is nothing to draw; rows
with missing or NaN figures are skipped rather than raising.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from collections.abc import Sequence

import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
from PIL import Image

from suite.core.record import Status
from suite.report.cells import STATUS_COLOURS

# Small PNGs keep the self-contained HTML page a reasonable size.
DPI = 90
WIDTH_IN = 10.0
MAX_HEIGHT_IN = 16.0
BAR_HEIGHT_IN = 0.2
# A chart with more rows than this is truncated to its extremes.
DIFF_MAX_CASES = 60
TREND_MAX_CASES = 12
TREND_MAX_RUNS = 30
TREND_COLUMNS = 3

LATENCY_TITLE = "p50 latency per model and variant (batch 1)"
SPEEDUP_TITLE = "Speedup vs FP32 per model and variant (FP32 p50 / variant p50, batch 1)"
DIFF_TITLE = "Latency change vs baseline (candidate p50 / baseline p50)"
AB_TITLE = "Latency A/B: this run's artifact against the baseline's, timed interleaved"

VERDICT_COLOURS = {
    "slower": "#d62728",
    "faster": "#2ca02c",
    "within_noise": "#8c8c8c",
    "unchanged": "#8c8c8c",
    "inconclusive": "#ff7f0e",
}
OTHER_VERDICT_COLOUR = "#444444"
BAND_COLOUR = "#dddddd"
# Ratio ticks symmetric around 1 in log space, so 2x slower and 2x faster sit equally far out.
_RATIO_STEPS = (1.1, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0)


# ---------------------------------------------------------------------------
# Public charts


def latency_chart(latency: pd.DataFrame) -> str:
    """p50 latency per model and variant as grouped horizontal bars on a log axis.

    Args:
        latency: The frame from ``suite.report.latency.latency_rows``; only rows with
            status "pass" and a positive p50_ms are drawn.

    Returns:
        A ``<figure>`` with the chart, or "" when no row passed.
    """
    rows = _latency_series(latency, "p50_ms")
    if rows.empty:
        return ""
    fig = _bar_figure(len(rows))
    ax = fig.add_subplot()
    ax.set_xscale("log")
    # Bars need a finite start on a log axis: the left edge of the view.
    floor = _log_floor(rows["value"])
    ax.set_xlim(floor, float(rows["value"].max()) * 2.5)  # room right of the longest bar for its label
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    rows = _grouped_barh(ax, rows, base=floor)
    ax.set_xlabel("p50 latency, ms (log scale)")
    ax.set_title(LATENCY_TITLE, fontsize=10)
    _annotate_bars(ax, rows, "{:.3g}", diverging=False)
    caption = (
        f"session.run p50 at batch 1 for {rows['model'].nunique()} models, {len(rows)} passing cells; "
        "shorter is faster. Cells that did not pass are left out."
    )
    return _render(fig, LATENCY_TITLE, caption)


def speedup_chart(latency: pd.DataFrame) -> str:
    """vs_fp32 (FP32 p50 / variant p50) per model and non-FP32 variant, bars diverging from 1.

    Args:
        latency: The frame from ``suite.report.latency.latency_rows``; only rows with
            status "pass", a variant other than fp32 and a positive vs_fp32 are drawn.

    Returns:
        A ``<figure>`` with the chart, or "" when there is no such row.
    """
    rows = _latency_series(latency, "vs_fp32")
    rows = rows[rows["variant"] != "fp32"].reset_index(drop=True)
    if rows.empty:
        return ""
    fig = _bar_figure(len(rows))
    ax = fig.add_subplot()
    ax.set_xscale("log")
    _set_ratio_axis(ax, _ratio_span(rows["value"]), suffix="×")
    # Bars start at 1.0 so a slower variant reads as a bar to the left.
    rows = _grouped_barh(ax, rows, base=1.0)
    ax.axvline(1.0, color="#333333", linewidth=1)
    _direction_labels(ax, "← slower", "faster than FP32 →")
    ax.set_xlabel("FP32 p50 / variant p50 (log scale)")
    ax.set_title(SPEEDUP_TITLE, fontsize=10, pad=14)
    _annotate_bars(ax, rows, "{:.2f}×", diverging=True)
    caption = (
        f"{len(rows)} passing variant cells against their model's FP32 export on the same package and provider; "
        "right of the line is faster than FP32."
    )
    return _render(fig, SPEEDUP_TITLE, caption)


def diff_latency_chart(diff: pd.DataFrame) -> str:
    """One dot per latency case: candidate p50 / baseline p50, coloured by verdict.

    Args:
        diff: A diff table with columns case_id, latency_verdict, p50_ratio and
            detectable_change (the relative change the runs could detect, e.g. 0.8 for
            +80% / -44%; may be NaN). Rows without a positive p50_ratio are skipped.

    Returns:
        A ``<figure>`` with the chart, or "" when no case has a ratio. More than 60
        cases are cut to the 30 largest and 30 smallest ratios, said in the caption.
    """
    rows = _diff_rows(diff)
    if rows.empty:
        return ""
    total = len(rows)
    truncated = total > DIFF_MAX_CASES
    if truncated:
        half = DIFF_MAX_CASES // 2
        rows = pd.concat([rows.head(half), rows.tail(half)], ignore_index=True)
    fig = _bar_figure(len(rows))
    ax = fig.add_subplot()
    _draw_diff(ax, rows, truncated)
    caption = (
        f"{total} latency cases with a ratio; right of 1 the candidate is slower. "
        "Grey band: the change these runs could detect (1/(1+d) .. 1+d); a dot inside it is noise."
    )
    if truncated:
        caption += (
            f" Showing the {half} largest and {half} smallest of {total} ratios; the other {total - len(rows)} are cut."
        )
    return _render(fig, DIFF_TITLE, caption)


def ab_chart(rows: pd.DataFrame) -> str:
    """One row per A/B-timed latency case: median ratio B/A as a dot, its 95% interval as a bar,
    coloured by the A/B verdict, over the grey band of changes smaller than the minimum effect.

    Args:
        rows: Latency rows with case_id, ab_verdict, ab_ratio, ab_ci_low, ab_ci_high, ab_min_effect.

    Returns:
        A ``<figure>``, or "" when no row was timed A/B.
    """
    frame = pd.DataFrame(
        {
            "case_id": _text(rows.get("case_id", pd.Series(dtype=str))),
            "verdict": _text(rows.get("ab_verdict", pd.Series(dtype=str))),
            **{c: _numeric(rows, f"ab_{c}") for c in ("ratio", "ci_low", "ci_high", "min_effect")},
        }
    )
    frame = frame[_positive(frame["ratio"]) & _positive(frame["ci_low"]) & _positive(frame["ci_high"])]
    if frame.empty:
        return ""
    frame = frame.sort_values(["ratio", "case_id"], kind="stable").reset_index(drop=True)
    fig = _bar_figure(len(frame))
    ax = fig.add_subplot()
    ys = list(range(len(frame)))
    effect = float(frame["min_effect"].dropna().iloc[0]) if frame["min_effect"].notna().any() else 0.05
    ax.axvspan(1 / (1 + effect), 1 + effect, color=BAND_COLOUR, zorder=1)
    colours = [VERDICT_COLOURS.get(v, OTHER_VERDICT_COLOUR) for v in frame["verdict"]]
    ax.hlines(ys, frame["ci_low"], frame["ci_high"], colors=colours, linewidth=2.5, zorder=2)
    ax.scatter(frame["ratio"], ys, c=colours, s=22, zorder=3, edgecolors="white", linewidths=0.5)
    ax.axvline(1.0, color="#333333", linewidth=1, zorder=2)
    ax.set_xscale("log")
    _set_ratio_axis(ax, _ratio_span(pd.concat([frame["ci_low"], frame["ci_high"]])), suffix="×")
    ax.set_yticks(ys, [_shorten(c, 60) for c in frame["case_id"]], fontsize=7)
    ax.set_ylim(-0.7, len(frame) - 0.3)
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    _direction_labels(ax, "← faster", "slower →")
    ax.set_xlabel("this run's artifact / the baseline's, timed interleaved (median ratio, 95% interval; log scale)")
    ax.set_title(AB_TITLE, fontsize=10, pad=14)
    _diff_legend(ax, frame["verdict"], band=False)
    caption = (
        f"{len(frame)} latency cases timed A/B against the baseline's artifact in this run. Grey band: changes "
        f"smaller than the minimum effect ({effect:.0%}); a bar inside it is unchanged, a bar across its edge "
        "inconclusive."
    )
    return _render(fig, AB_TITLE, caption)


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
    wanted = [c for c in dict.fromkeys(str(c) for c in case_ids) if c in set(_text(trend["case_id"]))]
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
        ax.set_title(_shorten(case_id, 44), fontsize=8)
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
    return _render(fig, "p50 latency and status per case over runs", caption)


# ---------------------------------------------------------------------------
# Figure plumbing


def _render(fig: Figure, alt: str, caption: str) -> str:
    """The figure as a base64 PNG inside a <figure>; the figure is cleared afterwards."""
    try:
        png = _png_bytes(fig)
    finally:
        fig.clear()
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure class="plot"><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _png_bytes(fig: Figure) -> bytes:
    """Draw with Agg and write a 256-colour palette PNG.

    A chart has a handful of flat colours plus anti-aliasing, so a palette loses nothing
    visible and makes the PNG about three times smaller than matplotlib's RGBA one.
    """
    canvas = FigureCanvasAgg(fig)  # its own canvas: no backend switch, no pyplot registry
    canvas.draw()
    width, height = canvas.get_width_height(physical=True)
    image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buffer = io.BytesIO()
    image.convert("RGB").quantize(colors=256).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _bar_figure(bars: int) -> Figure:
    """A full-width figure whose height grows with the number of bars, up to MAX_HEIGHT_IN."""
    height = min(MAX_HEIGHT_IN, 1.6 + BAR_HEIGHT_IN * bars)
    return Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")


def _trend_figure(panels: int) -> Figure:
    columns = min(panels, TREND_COLUMNS)
    rows = math.ceil(panels / TREND_COLUMNS)
    width = min(WIDTH_IN, 3.4 * columns + 0.4)
    return Figure(figsize=(width, 0.8 + 2.3 * rows), dpi=DPI, layout="constrained")


def _shorten(text: str, limit: int) -> str:
    """text cut in the middle: case ids differ at both ends (model first, variant and provider last)."""
    if len(text) <= limit:
        return text
    keep = limit - 1
    return text[: keep - keep // 2] + "…" + text[-(keep // 2) :]


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(float("nan"), index=frame.index, dtype="float64")
    return pd.to_numeric(frame[column], errors="coerce").astype("float64")


def _text(values: pd.Series) -> pd.Series:
    """Values as plain strings, missing ones as "" (astype(str) keeps NaN under pandas' string dtype)."""
    return values.fillna("").astype(str)


def _positive(values: pd.Series) -> pd.Series:
    """True where a value can sit on a log axis."""
    return values.notna() & (values > 0) & (values != float("inf"))


# ---------------------------------------------------------------------------
# Grouped bars (latency and speedup)


def _latency_series(latency: pd.DataFrame, column: str) -> pd.DataFrame:
    """Passing rows with a positive value: model, variant, series (legend label) and value."""
    columns = ["model", "variant", "series", "value"]
    if latency is None or latency.empty or not {"model", "variant", "status"} <= set(latency.columns):
        return pd.DataFrame(columns=columns)
    rows = latency.assign(value=_numeric(latency, column))
    rows = rows[(rows["status"] == Status.PASS.value) & _positive(rows["value"])]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    provider = _provider_names(rows)
    rows = rows.assign(model=_text(rows["model"]), variant=_text(rows["variant"]))
    several = provider.nunique() > 1
    rows["series"] = rows["variant"] + (" @ " + provider if several else "")
    return rows[columns].reset_index(drop=True)


def _provider_names(rows: pd.DataFrame) -> pd.Series:
    """The provider label, prefixed by its package when one label appears under several packages."""
    label = _text(rows.get("provider_label", pd.Series("", index=rows.index)))
    package = _text(rows.get("ort_package", pd.Series("", index=rows.index)))
    pairs = set(zip(package, label, strict=True))
    if len(pairs) > len(set(label)):
        return package + " / " + label
    return label


def _series_order(series: pd.Series) -> list[str]:
    """Legend order: FP32 first (the reference), then the rest alphabetically."""
    return sorted(set(series), key=lambda s: (not s.startswith("fp32"), s))


def _series_colours(order: Sequence[str]) -> dict[str, tuple[float, ...]]:
    cmap = colormaps["tab10" if len(order) <= 10 else "tab20"]
    return {name: cmap(i % cmap.N) for i, name in enumerate(order)}


def _bar_layout(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[str], list[float]]:
    """rows with a "y" per bar, the models top to bottom and the y of each model's label.

    Groups hold only the series the model has, so a model timed on one provider leaves no gaps.
    """
    rank = {name: i for i, name in enumerate(_series_order(rows["series"]))}
    models = sorted(set(rows["model"]))
    ordered, centres, y = [], [], 0.0
    for model in models:
        group = rows[rows["model"] == model].sort_values("series", key=lambda s: s.map(rank), kind="stable")
        group = group.assign(y=[y + i for i in range(len(group))])
        ordered.append(group)
        centres.append(y + (len(group) - 1) / 2)
        y += len(group) + 0.8  # a gap between models
    return pd.concat(ordered, ignore_index=True), models, centres


def _grouped_barh(ax: Axes, rows: pd.DataFrame, base: float) -> pd.DataFrame:
    """One group of bars per model, first model at the top, starting at base; returns rows with "y"."""
    rows, models, centres = _bar_layout(rows)
    order = _series_order(rows["series"])
    colours = _series_colours(order)
    ax.barh(rows["y"], rows["value"] - base, left=base, height=0.85, color=list(rows["series"].map(colours)))
    ax.set_yticks(centres, [_shorten(m, 32) for m in models], fontsize=8)
    ax.set_ylim(float(rows["y"].max()) + 0.7, -0.7)  # inverted: reading order top to bottom
    ax.yaxis.set_minor_locator(NullLocator())
    ax.tick_params(axis="x", labelsize=8)
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="x", which="major", color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    handles = [Patch(color=colours[name], label=name) for name in order]
    title = "variant @ provider" if any(" @ " in name for name in order) else "variant"
    ax.figure.legend(handles=handles, loc="outside right upper", fontsize=8, frameon=False, title=title)
    return rows


def _annotate_bars(ax: Axes, rows: pd.DataFrame, template: str, diverging: bool) -> None:
    """The value at the outer end of each bar; left out when bars are too thin to hold text."""
    if len(rows) > 70:
        return
    for value, y in zip(rows["value"], rows["y"], strict=True):
        right = not diverging or value >= 1.0
        ax.annotate(
            template.format(value),
            (value, y),
            xytext=(3 if right else -3, 0),
            textcoords="offset points",
            ha="left" if right else "right",
            va="center",
            fontsize=6.5,
            color="#333333",
        )


def _log_floor(values: pd.Series) -> float:
    """The power of ten below the smallest value (with a little room): where latency bars start."""
    return 10 ** math.floor(math.log10(float(values.min()) * 0.8))


# ---------------------------------------------------------------------------
# Ratio axes (speedup and diff)


def _ratio_span(values: pd.Series) -> float:
    """The largest distance from 1 in log space, at least a 1.25x either way so noise stays readable."""
    finite = values[_positive(values)]
    if finite.empty:
        return math.log(1.25)
    return max(math.log(1.25), float(finite.map(math.log).abs().max()))


def _set_ratio_axis(ax: Axes, span: float, suffix: str = "") -> None:
    """A log axis symmetric around 1 with readable ratio ticks (0.5, 0.8, 1, 1.25, 2) and no minor clutter."""
    limit = math.exp(span * 1.25)  # room for the value labels
    ax.set_xlim(1 / limit, limit)
    ticks = sorted([1 / s for s in _ratio_steps(limit)] + [1.0] + _ratio_steps(limit))
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{float(f'{v:.3g}'):g}{suffix}"))


def _ratio_steps(limit: float) -> list[float]:
    """At most four tick steps above 1 up to limit: nice ratios on a narrow axis, decades on a wide one."""
    if limit >= 20:
        steps = [10.0**k for k in range(1, int(math.log10(limit)) + 1)]
    else:
        # Steps too close to 1 for this axis would print on top of the 1x tick (0.909x next to 1x next to 1.1x).
        steps = [s for s in _RATIO_STEPS if math.log(limit) / 6 <= math.log(s) <= math.log(limit)]
    while len(steps) > 4:  # every other step, keeping the outermost
        steps = steps[::-1][::2][::-1]
    return steps


def _direction_labels(ax: Axes, left: str, right: str) -> None:
    """Words either side of the 1x line, just above the axes, a fixed few points from it."""
    for text, offset, align in ((left, -4, "right"), (right, 4, "left")):
        ax.annotate(
            text,
            (1.0, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(offset, 2),
            textcoords="offset points",
            ha=align,
            va="bottom",
            fontsize=8,
        )


def _diff_rows(diff: pd.DataFrame) -> pd.DataFrame:
    """case_id, verdict, ratio, detectable; only cases with a positive ratio, smallest ratio first."""
    columns = ["case_id", "verdict", "ratio", "detectable"]
    if diff is None or diff.empty or not {"case_id", "p50_ratio"} <= set(diff.columns):
        return pd.DataFrame(columns=columns)
    verdict = _text(diff.get("latency_verdict", pd.Series("", index=diff.index)))
    rows = pd.DataFrame(
        {
            "case_id": _text(diff["case_id"]),
            "verdict": verdict,
            "ratio": _numeric(diff, "p50_ratio"),
            "detectable": _numeric(diff, "detectable_change"),
        }
    )
    rows = rows[_positive(rows["ratio"])]
    return rows.sort_values(["ratio", "case_id"], kind="stable").reset_index(drop=True)


def _draw_diff(ax: Axes, rows: pd.DataFrame, truncated: bool) -> None:
    """Detectable band, stem from 1 and a verdict-coloured dot per case; largest ratio at the top."""
    ys = list(range(len(rows)))
    band = rows["detectable"].where(rows["detectable"] > 0)
    low, high = 1 / (1 + band), 1 + band
    has_band = band.notna()
    ax.barh(
        [y for y, b in zip(ys, has_band, strict=True) if b],
        (high - low)[has_band],
        left=low[has_band],
        height=0.7,
        color=BAND_COLOUR,
        zorder=1,
    )
    colours = [VERDICT_COLOURS.get(v, OTHER_VERDICT_COLOUR) for v in rows["verdict"]]
    ax.hlines(ys, 1.0, rows["ratio"], colors=colours, linewidth=1.2, zorder=2)
    ax.scatter(rows["ratio"], ys, c=colours, s=22, zorder=3, edgecolors="white", linewidths=0.5)
    ax.axvline(1.0, color="#333333", linewidth=1, zorder=2)
    ax.set_xscale("log")
    span_values = pd.concat([rows["ratio"], high[has_band]])
    _set_ratio_axis(ax, _ratio_span(span_values), suffix="×")
    ax.set_yticks(ys, [_shorten(c, 60) for c in rows["case_id"]], fontsize=7)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    if truncated:
        # The cut sits between the smallest half (below) and the largest half (above).
        ax.axhline(len(rows) / 2 - 0.5, color="#999999", linestyle=":", linewidth=1)
    _direction_labels(ax, "← faster", "slower →")
    ax.set_xlabel("candidate p50 / baseline p50 (log scale)")
    ax.set_title(DIFF_TITLE, fontsize=10, pad=14)
    _diff_legend(ax, rows["verdict"], has_band.any())


def _diff_legend(ax: Axes, verdicts: pd.Series, band: bool) -> None:
    present = list(dict.fromkeys(verdicts))
    known = [v for v in VERDICT_COLOURS if v in present] + [v for v in present if v not in VERDICT_COLOURS]
    handles: list[Line2D | Patch] = [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            color=VERDICT_COLOURS.get(v, OTHER_VERDICT_COLOUR),
            label=v or "no verdict",
        )
        for v in known
    ]
    if band:
        handles.append(Patch(color=BAND_COLOUR, label="detectable change"))
    ax.figure.legend(handles=handles, loc="outside right upper", fontsize=8, frameon=False, title="verdict")


# ---------------------------------------------------------------------------
# Trend small multiples


def _run_order(trend: pd.DataFrame) -> list[str]:
    """Run ids oldest first: by started_at where it parses, then by run id."""
    started = trend.get("started_at", pd.Series(None, index=trend.index))
    stamps = pd.to_datetime(started, errors="coerce", utc=True, format="ISO8601")
    runs = pd.DataFrame({"run_id": _text(trend["run_id"]), "started": stamps})
    first = runs.groupby("run_id", sort=False)["started"].min().reset_index()
    first = first.sort_values(["started", "run_id"], na_position="last", kind="stable")
    return list(first["run_id"])


def _case_runs(trend: pd.DataFrame, case_id: str, runs: Sequence[str]) -> pd.DataFrame:
    """x (index into runs), status and p50 for one case; the last row wins where a run has two."""
    rows = trend[_text(trend["case_id"]) == case_id]
    position = {run: i for i, run in enumerate(runs)}
    frame = pd.DataFrame(
        {
            "x": _text(rows["run_id"]).map(position),
            "status": _text(rows["status"]),
            "p50": _numeric(rows, "p50_ms"),
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
    timed = _positive(case["p50"])
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
