"""The run's latency rows as grouped horizontal bars per model and variant: p50 (latency_chart) and the
speedup over FP32 (speedup_chart)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, NullLocator

from suite.core.record import Status
from suite.report.plots.figure import as_text, bar_figure, figure_html, numeric_column, positive_finite, shorten
from suite.report.plots.ratio_axis import direction_labels, ratio_span, set_ratio_axis

LATENCY_TITLE = "p50 latency per model and variant (batch 1)"
SPEEDUP_TITLE = "Speedup vs FP32 per model and variant (FP32 p50 / variant p50, batch 1)"


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
    fig = bar_figure(len(rows))
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
    return figure_html(fig, LATENCY_TITLE, caption)


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
    fig = bar_figure(len(rows))
    ax = fig.add_subplot()
    ax.set_xscale("log")
    set_ratio_axis(ax, ratio_span(rows["value"]), suffix="×")
    # Bars start at 1.0 so a slower variant reads as a bar to the left.
    rows = _grouped_barh(ax, rows, base=1.0)
    ax.axvline(1.0, color="#333333", linewidth=1)
    direction_labels(ax, "← slower", "faster than FP32 →")
    ax.set_xlabel("FP32 p50 / variant p50 (log scale)")
    ax.set_title(SPEEDUP_TITLE, fontsize=10, pad=14)
    _annotate_bars(ax, rows, "{:.2f}×", diverging=True)
    caption = (
        f"{len(rows)} passing variant cells against their model's FP32 export on the same package and provider; "
        "right of the line is faster than FP32."
    )
    return figure_html(fig, SPEEDUP_TITLE, caption)


def _latency_series(latency: pd.DataFrame, column: str) -> pd.DataFrame:
    """Passing rows with a positive value: model, variant, series (legend label) and value."""
    columns = ["model", "variant", "series", "value"]
    if latency is None or latency.empty or not {"model", "variant", "status"} <= set(latency.columns):
        return pd.DataFrame(columns=columns)
    rows = latency.assign(value=numeric_column(latency, column))
    rows = rows[(rows["status"] == Status.PASS.value) & positive_finite(rows["value"])]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    provider = _provider_names(rows)
    rows = rows.assign(model=as_text(rows["model"]), variant=as_text(rows["variant"]))
    several = provider.nunique() > 1
    rows["series"] = rows["variant"] + (" @ " + provider if several else "")
    return rows[columns].reset_index(drop=True)


def _provider_names(rows: pd.DataFrame) -> pd.Series:
    """The provider label, prefixed by its package when one label appears under several packages."""
    label = as_text(rows.get("provider_label", pd.Series("", index=rows.index)))
    package = as_text(rows.get("ort_package", pd.Series("", index=rows.index)))
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
    ax.set_yticks(centres, [shorten(m, 32) for m in models], fontsize=8)
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
