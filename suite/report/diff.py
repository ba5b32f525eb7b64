"""A diff as diff.csv, a Markdown summary (for a CI job summary) and an HTML page or report section."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from suite.history.diff import RunData, called_latency, counts, inconclusive_latency
from suite.report.cells import cell_text

MD_LIMIT = 50  # rows per Markdown table: a job summary is read, not searched
MESSAGE_CHARS = 160
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


def version_changes(base_meta: Mapping[str, Any], cand_meta: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(what, baseline, candidate) for every library version, package or machine fact that differs."""
    facts = []
    for source in (base_meta, cand_meta):
        merged = dict(source.get("versions") or {})
        runtime = source.get("onnxruntime") or {}
        for key in ("ort_package", "ort_version", "ort_providers"):
            if key in runtime:
                merged[key] = runtime[key]
        for key in ("git_commit", "hostname", "cpu_model", "selection"):
            if key in source:
                merged[key] = source[key]
        facts.append(merged)
    before, after = facts
    return [
        (key, str(before.get(key, "")), str(after.get(key, "")))
        for key in sorted(set(before) | set(after))
        if str(before.get(key, "")) != str(after.get(key, ""))
    ]


def _short(text: Any, limit: int = MESSAGE_CHARS) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _md_cell(text: Any) -> str:
    return _short(text).replace("|", "\\|")


def render_markdown(diff: pd.DataFrame, baseline: RunData, candidate: RunData, gate: Sequence[str]) -> str:
    """Counts, then regressed cases with their messages, then latency changes; then the rest."""
    found = counts(diff)
    verdict = f"**FAIL**: {', '.join(gate)}" if gate else "**PASS**: nothing regressed"
    lines = [
        f"## zoo-suite: `{candidate.run_id}` vs baseline `{baseline.run_id}`",
        "",
        verdict,
        "",
        "| regressed | fixed | still failing | new | removed | unchanged | numeric drift | slower | faster |"
        " latency inconclusive |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {found['regressed']} | {found['fixed']} | {found['still_failing']} | {found['new']} | {found['removed']} "
        f"| {found['unchanged']} | {found['drifted']} | {found['latency_slower']} | {found['latency_faster']} "
        f"| {found['latency_inconclusive']} |",
        "",
    ]
    changes = version_changes(baseline.meta, candidate.meta)
    if changes:
        lines += ["### What differs between the runs", "", "| | baseline | candidate |", "|---|---|---|"]
        lines += [f"| {k} | {_md_cell(b)} | {_md_cell(c)} |" for k, b, c in changes]
        lines.append("")
    lines += _md_cases(diff, "regressed", "Regressed", ("base_status", "cand_status", "cand_stage", "cand_message"))
    lines += _md_cases(diff, "fixed", "Fixed", ("base_status", "cand_status", "base_message"))
    drifted = diff[diff["drift"].astype(str) != ""]
    if not drifted.empty:
        lines += [f"### Numeric drift ({len(drifted)})", "", "| case | figures |", "|---|---|"]
        lines += [f"| `{r.case_id}` | {_md_cell(r.drift)} |" for r in drifted.head(MD_LIMIT).itertuples()]
        lines.append("")
    lines += _md_latency(diff)
    changed_messages = diff[(diff["change"] == "still_failing") & diff["message_changed"].astype(bool)]
    if not changed_messages.empty:
        lines += _md_cases(
            changed_messages, "still_failing", "Still failing, message changed", ("cand_status", "cand_message")
        )
    for change, title in (("new", "New cases"), ("removed", "Removed cases")):
        subset = diff[diff["change"] == change]
        if not subset.empty:
            ids = ", ".join(f"`{c}`" for c in subset["case_id"].head(MD_LIMIT))
            more = f" and {len(subset) - MD_LIMIT} more" if len(subset) > MD_LIMIT else ""
            lines += [f"### {title} ({len(subset)})", "", ids + more, ""]
    return "\n".join(lines) + "\n"


def _md_cases(diff: pd.DataFrame, change: str, title: str, columns: Sequence[str]) -> list[str]:
    subset = diff[diff["change"] == change]
    if subset.empty:
        return []
    lines = [f"### {title} ({len(subset)})", "", "| case | " + " | ".join(columns) + " |"]
    lines.append("|---|" + "---|" * len(columns))
    for record in subset.head(MD_LIMIT).to_dict("records"):
        lines.append(f"| `{record['case_id']}` | " + " | ".join(_md_cell(record[c]) for c in columns) + " |")
    if len(subset) > MD_LIMIT:
        lines.append(f"| ... {len(subset) - MD_LIMIT} more in diff.csv | |")
    return [*lines, ""]


def _md_latency(diff: pd.DataFrame) -> list[str]:
    called = called_latency(diff)
    inconclusive = inconclusive_latency(diff)
    timed = diff[diff["latency_verdict"].astype(str) != ""]
    if timed.empty and called.empty:
        return []
    lines = [f"### Latency ({len(timed)} timed cases)", ""]
    if not called.empty:
        lines += [
            "| case | verdict | p50 ms (base -> cand) | change | detectable | ratios |",
            "|---|---|---|---|---|---|",
        ]
        for r in called.head(MD_LIMIT).to_dict("records"):
            change = f"{r['p50_ratio'] - 1:+.0%}" if pd.notna(r["p50_ratio"]) else ""
            detectable = f"±{r['detectable_change']:.0%}" if pd.notna(r["detectable_change"]) else "n/a"
            p50 = f"{r['base_p50_ms']:.4g} -> {r['cand_p50_ms']:.4g}" if pd.notna(r["cand_p50_ms"]) else ""
            lines.append(
                f"| `{r['case_id']}` | {r['latency_verdict'] or '-'} | {p50} | {change} | {detectable} "
                f"| {_md_cell(r['ratio_verdicts'])} |"
            )
        lines.append("")
    if not inconclusive.empty:
        lines += [
            f"{len(inconclusive)} cases have timing changes (p50 or a within-run ratio) that are inconclusive: "
            "significant and large, but the history holds too few earlier runs of those cases to tell them "
            "from this machine's run-to-run noise (see diff.csv, `latency_reason`, `ratio_verdicts`).",
            "",
        ]
    if called.empty and inconclusive.empty:
        lines += ["No latency change beyond noise.", ""]
    return lines


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
    notable = diff[diff["change"].isin(["regressed", "fixed"])]
    latency = called_latency(diff)
    drifted = diff[diff["drift"].astype(str) != ""]
    reworded = diff[(diff["change"] == "still_failing") & diff["message_changed"].astype(bool)]
    trend_html = trend_chart(trend, list(dict.fromkeys(trend["case_id"]))) if trend is not None and len(trend) else ""
    return (
        f"<h2>Since the baseline: {html.escape(candidate.run_id)} vs {html.escape(baseline.run_id)}</h2>"
        f"{badge}<table><tr>{count_cells}</tr></table>{differs}"
        f"<h3>Regressed and fixed ({len(notable)})</h3>"
        + (_frame_table(notable, NOTABLE_COLUMNS) if len(notable) else "<p>None.</p>")
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
    "base p50 ms": "base_p50_ms",
    "cand p50 ms": "cand_p50_ms",
    "ratio": "p50_ratio",
    "detectable": "detectable_change",
    "why": "latency_reason",
    "ratios": "ratio_verdicts",
}


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
