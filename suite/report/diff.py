"""A diff as diff.csv, a Markdown summary (for a CI job summary) and an HTML page or report section.

diff.csv has every case with its full (cleaned) message; the summaries show each cause once
(suite.report.diff_groups), messages cut after the clause that names the cause
(suite.core.messages.readable_message), and every count from suite.history.diff.counts.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from suite.history.diff import RunData, called_latency, counts
from suite.history.gate import regressed_headline
from suite.report.cells import cell_text
from suite.report.diff_groups import CauseGroup, regressed_groups, tally
from suite.report.diff_markdown import render_markdown, version_changes

__all__ = ["DIFF_CSS", "render_diff_section", "render_markdown", "version_changes", "write_diff"]

_CHANGE_COLOURS = {
    "regressed": "#e06666",
    "fixed": "#b7e1a1",
    "still_failing": "#ffd966",
    "new": "#c9daf8",
    "removed": "#d9d2e9",
    "unchanged": "#eeeeee",
    "slower": "#e06666",
    "faster": "#b7e1a1",
    "inconclusive": "#f6b26b",
}


def write_diff(
    out: Path,
    diff: pd.DataFrame,
    baseline: RunData,
    candidate: RunData,
    gate: Sequence[str],
    trend: pd.DataFrame | None = None,
) -> dict[str, Path]:
    """diff.csv, diff.md and diff.html in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "diff.csv", "markdown": out / "diff.md", "html": out / "diff.html"}
    diff.to_csv(paths["csv"], index=False)
    paths["markdown"].write_text(render_markdown(diff, baseline, candidate, gate))
    paths["html"].write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>zoo-suite diff</title>"
        f"<style>{DIFF_CSS}</style></head><body>"
        f"{render_diff_section(diff, baseline, candidate, gate, trend)}</body></html>"
    )
    return paths


# -- HTML ------------------------------------------------------------------------------------------

DIFF_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #bbb; padding: 3px 6px; font-size: 13px; }
td.msg { max-width: 60em; font-family: ui-monospace, monospace; font-size: 12px; }
td.id { font-family: ui-monospace, monospace; white-space: nowrap; }
.gate-fail { background: #e06666; color: #fff; padding: 6px 10px; display: inline-block; font-weight: bold; }
.gate-pass { background: #b7e1a1; padding: 6px 10px; display: inline-block; font-weight: bold; }
figure.plot img { max-width: 100%; }
"""


def render_diff_section(
    diff: pd.DataFrame,
    baseline: RunData,
    candidate: RunData,
    gate: Sequence[str],
    trend: pd.DataFrame | None = None,
) -> str:
    """What changed since the baseline: the verdict, counts, regressed and fixed, latency, trends."""
    from suite.report.plots.trend import trend_chart
    from suite.report.plots.vs_baseline import diff_latency_chart

    found = counts(diff)
    badge = (
        f'<p class="gate-fail">REGRESSION: {html.escape(", ".join(gate))}</p>'
        if gate
        else '<p class="gate-pass">Nothing regressed</p>'
    )
    count_cells = "".join(
        f'<td style="background:{_CHANGE_COLOURS.get(k.removeprefix("latency_"), "#fff") if v else "#fff"}">'
        f"<b>{v}</b><br>{html.escape(k.replace('_', ' '))}</td>"
        for k, v in found.items()
    )
    changes = version_changes(baseline.meta, candidate.meta)
    differs = (
        "<h3>What differs between the runs</h3>" + _table(("", "baseline", "candidate"), changes) if changes else ""
    )
    groups = regressed_groups(diff)
    fixed = diff[diff["change"] == "fixed"]
    latency = called_latency(diff)
    drifted = diff[diff["drift"].astype(str) != ""]
    reworded = diff[(diff["change"] == "still_failing") & diff["message_changed"].astype(bool)]
    trend_html = trend_chart(trend, list(dict.fromkeys(trend["case_id"]))) if trend is not None and len(trend) else ""
    return (
        f"<h2>Since the baseline: {html.escape(candidate.run_id)} vs {html.escape(baseline.run_id)}</h2>"
        f"{badge}<table><tr>{count_cells}</tr></table>{differs}"
        f"<h3>Regressed and fixed: {regressed_headline(found)}, {found['fixed']} fixed</h3>"
        + (_notable_table(groups, fixed) if groups or len(fixed) else "<p>None.</p>")
        + (
            f"<h3>Numeric drift ({len(drifted)})</h3>" + _frame_table(drifted, {"case": "case_id", "figures": "drift"})
            if len(drifted)
            else ""
        )
        + f"<h3>Latency changes ({len(latency)} called)</h3>"
        + (_frame_table(latency, LATENCY_COLUMNS) if len(latency) else "<p>No latency change beyond noise.</p>")
        + diff_latency_chart(diff)
        + (f"<h3>Trends of these cases</h3>{trend_html}" if trend_html else "")
        + (
            f"<h3>Still failing, message changed ({len(reworded)})</h3>" + _frame_table(reworded, REWORDED_COLUMNS)
            if len(reworded)
            else ""
        )
    )


# Heading -> diff column, for the HTML tables; the second column is coloured by its value.
NOTABLE_COLUMNS = {
    "case": "case_id",
    "change": "change",
    "was": "base_status",
    "now": "cand_status",
    "stage": "cand_stage",
    "why": "why",
    "message now": "cand_message",
}
REWORDED_COLUMNS = {
    "case": "case_id",
    "status": "cand_status",
    "was": "base_status",
    "message before": "base_message",
    "message now": "cand_message",
}
LATENCY_COLUMNS = {
    "case": "case_id",
    "verdict": "latency_verdict",
    "measured": "latency_measured",
    "rule": "latency_rule",
    "why": "latency_reason",
    "within-run ratios": "ratio_verdicts",
}


def _notable_table(groups: Sequence[CauseGroup], fixed: pd.DataFrame) -> str:
    """Regressed causes (a root once, its derived cases listed in the row under it), then the fixed."""
    rows: list[tuple[Any, ...]] = []
    for group in groups:
        root = group.root
        label = f" ({group.label()})" if group.label() else ""
        rows.append((f"{root['case_id']}{label}", *(root[c] for c in list(NOTABLE_COLUMNS.values())[1:])))
        if group.derived:
            ids = group.derived_ids()
            rows.append(
                (
                    f"↳ {len(ids)} derived",
                    "regressed",
                    tally(r["base_status"] for r in group.derived),
                    tally(r["cand_status"] for r in group.derived),
                    tally(r["cand_stage"] for r in group.derived),
                    "their export fails on ONNX Runtime (the row above)",
                    ", ".join(ids),
                )
            )
    rows += [tuple(r[c] for c in NOTABLE_COLUMNS.values()) for r in fixed.to_dict("records")]
    return _table(tuple(NOTABLE_COLUMNS), rows, colour_column=1)


def _frame_table(frame: pd.DataFrame, columns: Mapping[str, str]) -> str:
    rows = [tuple(record[c] for c in columns.values()) for record in frame.to_dict("records")]
    return _table(tuple(columns), rows, colour_column=1)


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]], colour_column: int | None = None) -> str:

    header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = []
    for row in rows:
        cells = []
        for index, value in enumerate(row):
            style = ""
            if index == colour_column and str(value) in _CHANGE_COLOURS:
                style = f' style="background:{_CHANGE_COLOURS[str(value)]}"'
            css = ' class="id"' if index == 0 else ' class="msg"' if isinstance(value, str) and len(value) > 40 else ""
            cells.append(f"<td{style}{css}>{html.escape(cell_text(value))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"
