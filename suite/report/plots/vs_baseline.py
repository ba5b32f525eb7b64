"""This run against a baseline, one verdict-coloured dot per latency case on a ratio axis: the diff's
p50 ratios (diff_latency_chart) and the interleaved A/B's median ratios (ab_chart)."""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from suite.report.plots.figure import as_text, bar_figure, figure_html, numeric_column, positive_finite, shorten
from suite.report.plots.ratio_axis import direction_labels, ratio_span, set_ratio_axis

# A chart with more rows than this is truncated to its extremes.
DIFF_MAX_CASES = 60

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
    fig = bar_figure(len(rows))
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
    return figure_html(fig, DIFF_TITLE, caption)


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
            "case_id": as_text(rows.get("case_id", pd.Series(dtype=str))),
            "verdict": as_text(rows.get("ab_verdict", pd.Series(dtype=str))),
            **{c: numeric_column(rows, f"ab_{c}") for c in ("ratio", "ci_low", "ci_high", "min_effect")},
        }
    )
    frame = frame[
        positive_finite(frame["ratio"]) & positive_finite(frame["ci_low"]) & positive_finite(frame["ci_high"])
    ]
    if frame.empty:
        return ""
    frame = frame.sort_values(["ratio", "case_id"], kind="stable").reset_index(drop=True)
    fig = bar_figure(len(frame))
    ax = fig.add_subplot()
    ys = list(range(len(frame)))
    effect = float(frame["min_effect"].dropna().iloc[0]) if frame["min_effect"].notna().any() else 0.05
    ax.axvspan(1 / (1 + effect), 1 + effect, color=BAND_COLOUR, zorder=1)
    colours = [VERDICT_COLOURS.get(v, OTHER_VERDICT_COLOUR) for v in frame["verdict"]]
    ax.hlines(ys, frame["ci_low"], frame["ci_high"], colors=colours, linewidth=2.5, zorder=2)
    ax.scatter(frame["ratio"], ys, c=colours, s=22, zorder=3, edgecolors="white", linewidths=0.5)
    ax.axvline(1.0, color="#333333", linewidth=1, zorder=2)
    ax.set_xscale("log")
    set_ratio_axis(ax, ratio_span(pd.concat([frame["ci_low"], frame["ci_high"]])), suffix="×")
    ax.set_yticks(ys, [shorten(c, 60) for c in frame["case_id"]], fontsize=7)
    ax.set_ylim(-0.7, len(frame) - 0.3)
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    direction_labels(ax, "← faster", "slower →")
    ax.set_xlabel("this run's artifact / the baseline's, timed interleaved (median ratio, 95% interval; log scale)")
    ax.set_title(AB_TITLE, fontsize=10, pad=14)
    _verdict_legend(ax, frame["verdict"], band=False)
    caption = (
        f"{len(frame)} latency cases timed A/B against the baseline's artifact in this run. Grey band: changes "
        f"smaller than the minimum effect ({effect:.0%}); a bar inside it is unchanged, a bar across its edge "
        "inconclusive."
    )
    return figure_html(fig, AB_TITLE, caption)


def _diff_rows(diff: pd.DataFrame) -> pd.DataFrame:
    """case_id, verdict, ratio, detectable; only cases with a positive ratio, smallest ratio first."""
    columns = ["case_id", "verdict", "ratio", "detectable"]
    if diff is None or diff.empty or not {"case_id", "p50_ratio"} <= set(diff.columns):
        return pd.DataFrame(columns=columns)
    verdict = as_text(diff.get("latency_verdict", pd.Series("", index=diff.index)))
    rows = pd.DataFrame(
        {
            "case_id": as_text(diff["case_id"]),
            "verdict": verdict,
            "ratio": numeric_column(diff, "p50_ratio"),
            "detectable": numeric_column(diff, "detectable_change"),
        }
    )
    rows = rows[positive_finite(rows["ratio"])]
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
    set_ratio_axis(ax, ratio_span(span_values), suffix="×")
    ax.set_yticks(ys, [shorten(c, 60) for c in rows["case_id"]], fontsize=7)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    if truncated:
        # The cut sits between the smallest half (below) and the largest half (above).
        ax.axhline(len(rows) / 2 - 0.5, color="#999999", linestyle=":", linewidth=1)
    direction_labels(ax, "← faster", "slower →")
    ax.set_xlabel("candidate p50 / baseline p50 (log scale)")
    ax.set_title(DIFF_TITLE, fontsize=10, pad=14)
    _verdict_legend(ax, rows["verdict"], has_band.any())


def _verdict_legend(ax: Axes, verdicts: pd.Series, band: bool) -> None:
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
