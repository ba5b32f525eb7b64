"""The variant tables of results.html: per model, one row per optimized or quantized variant with the
figures its path declares and its speedup over FP32 from the same run's latency rows."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from suite.report.cells import STATUS_COLOURS, case_anchor, cell_text
from suite.report.latency import with_latency_speedups


def render_tables(frame: pd.DataFrame, views: Sequence[Mapping[str, Any]]) -> str:
    """A table per variant path (optimize, quantize), with the figures its declaration names."""
    return "".join(
        render_variant_table(
            with_latency_speedups(frame[frame["path"].astype(str) == v["name"]], frame), str(v["title"]), v["columns"]
        )
        for v in views
        if v["shown_as"] == "table"
    )


def render_variant_table(variants: pd.DataFrame, title: str, columns: Sequence[str]) -> str:
    """Per model, one row per variant (optimization or quantization) with its figures.

    A variant slower than FP32 gets its speedup marked SLOWER (the speedups come from the
    latency path's rows of the same run, `with_latency_speedups`).
    """
    if variants.empty:
        return ""
    shown = [c for c in columns if c in variants.columns]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ("model", "variant", "status", *shown, "message"))
    body = []
    for r in variants.sort_values(["model", "variant" if "variant" in variants else "path"]).to_dict("records"):
        cells = []
        for column in shown:
            text = cell_text(r.get(column))
            if column == "op_delta" and text.count(",") >= 8:  # the CSV keeps the whole list
                text = ", ".join(text.split(", ")[:8]) + ", ..."
            if column == "speedup" and r.get("slower_than_fp32") is True:
                text = f"{text} SLOWER"
            cells.append(f'<td class="{"slow" if "SLOWER" in text else ""}">{html.escape(text)}</td>')
        colour = STATUS_COLOURS.get(str(r["status"]), "#fff")
        anchor = case_anchor(str(r["case_id"]))
        body.append(
            f'<tr id="{anchor}-v"><td>{html.escape(str(r["model"]))}</td>'
            f'<td><a href="#{anchor}">{html.escape(str(r.get("variant") or r["path"]))}</a></td>'
            f'<td style="background:{colour}">{html.escape(str(r["status"]))}</td>{"".join(cells)}'
            f'<td class="msg">{html.escape(str(r.get("message") or ""))}</td></tr>'
        )
    timed = (
        " fp32_ms, variant_ms and speedup are the latency path's p50 on the CPU provider in this run "
        "(its export, batch 1): each variant is timed once, there."
        if "speedup" in shown
        else ""
    )
    return (
        f"<h2>{html.escape(title)}</h2>"
        f"<p>Each variant of the model's representative FP32 export, against that export.{timed}</p>"
        f'<table class="variants"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )
