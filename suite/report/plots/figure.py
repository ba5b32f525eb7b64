"""A drawn matplotlib Figure to the ``<figure>`` the HTML page embeds, and what every chart shares.

Only matplotlib's object API (Figure + FigureCanvasAgg) is used, never pyplot: pyplot
keeps a global figure registry and a process-wide backend, which other code in the same
process (and other threads) would share. A Figure drawn on its own Agg canvas neither
reads nor changes the backend or the registry, and is cleared once its PNG is written.
"""

from __future__ import annotations

import base64
import html
import io

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

# Small PNGs keep the self-contained HTML page a reasonable size.
DPI = 90
WIDTH_IN = 10.0
MAX_HEIGHT_IN = 16.0
BAR_HEIGHT_IN = 0.2


def figure_html(fig: Figure, alt: str, caption: str) -> str:
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


def bar_figure(bars: int) -> Figure:
    """A full-width figure whose height grows with the number of bars, up to MAX_HEIGHT_IN."""
    height = min(MAX_HEIGHT_IN, 1.6 + BAR_HEIGHT_IN * bars)
    return Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")


def shorten(text: str, limit: int) -> str:
    """text cut in the middle: case ids differ at both ends (model first, variant and provider last)."""
    if len(text) <= limit:
        return text
    keep = limit - 1
    return text[: keep - keep // 2] + "…" + text[-(keep // 2) :]


def numeric_column(frame: pd.DataFrame, column: str) -> pd.Series:
    """frame[column] as float64, NaN where a value is not a number or the column is missing."""
    if column not in frame.columns:
        return pd.Series(float("nan"), index=frame.index, dtype="float64")
    return pd.to_numeric(frame[column], errors="coerce").astype("float64")


def as_text(values: pd.Series) -> pd.Series:
    """Values as plain strings, missing ones as "" (astype(str) keeps NaN under pandas' string dtype)."""
    return values.fillna("").astype(str)


def positive_finite(values: pd.Series) -> pd.Series:
    """True where a value can sit on a log axis."""
    return values.notna() & (values > 0) & (values != float("inf"))
