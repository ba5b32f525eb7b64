"""The case-by-case tables of results.html: the problems (worst first), the known failures with what
each matched in this run, and every case with its figures (the rows the other tables link to)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import pandas as pd

from suite.core.record import Status
from suite.report.cells import STATUS_COLOURS, case_anchor, cell_text
from zoo.expectations import expectation_usage

# Worst first, for the problems table (and the order of the counts that open the page).
SEVERITY = (
    Status.CRASH.value,
    Status.TIMEOUT.value,
    Status.MODEL_ERROR.value,
    Status.FALLBACK.value,
    Status.RUNTIME_ERROR.value,
    Status.EXPORT_ERROR.value,
    Status.TRANSFORM_ERROR.value,
    Status.MISMATCH.value,
    Status.XPASS.value,
    Status.UNSUPPORTED.value,
    Status.XFAIL.value,
    Status.SKIP.value,
)
# Columns shown in the figures table, in reading order.
FIGURE_COLUMNS = (
    "case_id",
    "status",
    "stage",
    "max_abs_err",
    "fp32_floor",
    "floor_ratio",
    "max_rel_err",
    "mismatch_frac",
    "top1_agreement",
    "sizes_checked",
    "tolerance_rule",
    "node_count",
    "file_bytes",
    "opset_written",
    "export_seconds",
    "export_cached",
    "duration_seconds",
)


def render_problems(frame: pd.DataFrame) -> str:
    """Cases that did not pass, worst first, each with its stage and message."""
    problems = frame[frame["status"] != Status.PASS.value]
    if problems.empty:
        return "<p>Every case passed.</p>"
    rank = problems["status"].map({s: i for i, s in enumerate(SEVERITY)}).fillna(len(SEVERITY))
    problems = problems.assign(_rank=rank).sort_values(["_rank", "case_id"])
    rows = "".join(
        f'<tr data-filter="{html.escape(_searchable(r))}">'
        f'<td class="id"><a href="#{case_anchor(str(r["case_id"]))}">{html.escape(str(r["case_id"]))}</a></td>'
        f'<td style="background:{STATUS_COLOURS.get(str(r["status"]), "#fff")}">{html.escape(str(r["status"]))}</td>'
        f"<td>{html.escape(str(r['stage']))}</td>"
        f'<td class="msg">{html.escape(str(r.get("message") or ""))}</td>'
        f'<td class="msg">{html.escape(cell_text(r.get("expectation")))}</td></tr>'
        for r in problems.to_dict("records")
    )
    return (
        '<table class="problems"><thead><tr><th>case</th><th>status</th><th>stage</th><th>message</th>'
        f"<th>known failure</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def render_expectations(frame: pd.DataFrame) -> str:
    """The known failures (zoo/expectations.py), each with what it matched in this run; stale ones first."""
    usage = expectation_usage(dict(zip(frame["case_id"], frame["status"], strict=True))) if len(frame) else []
    if not usage:
        return ""
    order = {"stale: every case it matched passed": 0, "in use": 1, "matched no case in this run": 2}
    usage.sort(key=lambda u: order.get(u["state"], 3))
    rows = "".join(
        f'<tr><td class="id">{html.escape(u["case_glob"])}</td><td>{html.escape(u["status"])}</td>'
        f"<td{' class=slow' if u['state'].startswith('stale') else ''}>{html.escape(u['state'])}</td>"
        f"<td>{u['cases']}</td><td>{u['xfail']}</td><td>{u['xpass']}</td>"
        f'<td class="msg">{html.escape(u["reason"])}{_link(u["link"])}{_repro(u["repro"])}</td></tr>'
        for u in usage
    )
    return (
        "<h2>Known failures</h2><p>Each expectation in zoo/expectations.py and the cases of this run it "
        "matched. A stale one (every case passed) should be removed; one that matched no case may only be "
        "outside this run's selection.</p>"
        '<table class="problems"><thead><tr><th>cases</th><th>expected</th><th>state</th><th>matched</th>'
        f"<th>xfail</th><th>xpass</th><th>reason</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _link(url: str) -> str:
    return f' <a href="{html.escape(url)}">tracked here</a>' if url else ""


def _repro(folder: str) -> str:
    """The repro folder, named as a path of the repository (the report may be read far from it)."""
    return f" Reproduced without the suite: <code>{html.escape(folder)}</code>." if folder else ""


def render_details(frame: pd.DataFrame) -> str:
    """Every case with its stage, status, message and figures; cells link here."""
    rows = []
    for r in frame.to_dict("records"):
        colour = STATUS_COLOURS.get(str(r["status"]), "#ffffff")
        figures = "".join(f"<td>{html.escape(cell_text(r.get(c)))}</td>" for c in FIGURE_COLUMNS[3:])
        message = html.escape(str(r.get("message") or ""))
        expectation = html.escape(str(r.get("expectation") or ""))
        rows.append(
            f'<tr id="{case_anchor(str(r["case_id"]))}" data-filter="{html.escape(_searchable(r))}">'
            f'<td class="id">{html.escape(str(r["case_id"]))}</td>'
            f'<td style="background:{colour}">{html.escape(str(r["status"]))}</td>'
            f"<td>{html.escape(str(r['stage']))}</td>{figures}"
            f'<td class="msg">{message}{"<br><i>expected: " + expectation + "</i>" if expectation else ""}</td></tr>'
        )
    head = "".join(f"<th>{html.escape(c)}</th>" for c in FIGURE_COLUMNS) + "<th>message</th>"
    return f'<table class="details"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _searchable(row: Mapping[str, Any]) -> str:
    """What the filter box matches a case's row on: its id, status, stage and family."""
    return f"{row['case_id']} {row['status']} {row['stage']} {row.get('family') or ''}"
