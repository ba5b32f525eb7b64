"""The log axis symmetric around 1 that the ratio charts share (speedup, diff, A/B), and the words either
side of its 1x line."""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from suite.report.plots.figure import positive_finite

# Ratio ticks symmetric around 1 in log space, so 2x slower and 2x faster sit equally far out.
_RATIO_STEPS = (1.1, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0)


def ratio_span(values: pd.Series) -> float:
    """The largest distance from 1 in log space, at least a 1.25x either way so noise stays readable."""
    finite = values[positive_finite(values)]
    if finite.empty:
        return math.log(1.25)
    return max(math.log(1.25), float(finite.map(math.log).abs().max()))


def set_ratio_axis(ax: Axes, span: float, suffix: str = "") -> None:
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


def direction_labels(ax: Axes, left: str, right: str) -> None:
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
