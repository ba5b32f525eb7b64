"""The compatibility matrices of results.html: models down, exporter / opset / shape across, one coloured
cell per case linking to its row; one matrix per matrix path and provider, grouped by family."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from suite.core.record import Status
from suite.report.cells import STATUS_COLOURS, case_anchor, cell_text, triage_anchor
from suite.report.families import families, family_group
from suite.report.triage_section import blame_words


def render_matrices(frame: pd.DataFrame, views: Sequence[Mapping[str, Any]]) -> str:
    """One matrix per matrix path and execution provider (variants and latency get their own tables)."""
    parts = []
    for view in views:
        if view["shown_as"] != "matrix":
            continue
        rows = frame[frame["path"].astype(str) == view["name"]]
        labels = rows["provider_label"].fillna("") if "provider_label" in rows else pd.Series("", index=rows.index)
        several = labels.nunique() > 1  # name the provider where the path ran on more than one
        for index, label in enumerate(dict.fromkeys(labels)):
            on = f" ({'CPU' if label == 'cpu' else label})" if several and label else ""
            title = html.escape(f"{view['title']}{on}")
            # The first matrix's family groups carry the anchors the family counts link to.
            anchor = not parts and index == 0
            parts.append(f"<h3>{title}</h3>{render_family_matrices(rows[labels == label], anchor)}")
    return "".join(parts)


def render_family_matrices(frame: pd.DataFrame, anchor: bool = False) -> str:
    """One matrix, or, for several families, one collapsible matrix per family with the same columns."""
    family = families(frame)
    if family.nunique() < 2:
        return render_matrix(frame)
    columns = sorted({_column_key(r) for r in frame.to_dict("records")})
    return "".join(
        family_group(name, frame[family == name], render_matrix(frame[family == name], columns), anchor)
        for name in sorted(family.unique())
    )


def render_matrix(frame: pd.DataFrame, columns: Sequence[tuple[str, int, str]] | None = None) -> str:
    """Models down, exporter / opset / shape across (`columns`, default those of `frame`); one coloured
    cell per case."""
    records = frame.to_dict("records")
    columns = sorted({_column_key(r) for r in records}) if columns is None else list(columns)
    models = sorted({str(r["model"]) for r in records})
    cells: dict[tuple[str, tuple[str, int, str]], list[dict[str, Any]]] = {}
    for r in records:
        cells.setdefault((str(r["model"]), _column_key(r)), []).append(r)
    exporters = sorted({c[0] for c in columns})
    head1 = "".join(f'<th colspan="{sum(1 for c in columns if c[0] == e)}">{html.escape(e)}</th>' for e in exporters)
    opsets = []
    for e in exporters:
        for op in sorted({c[1] for c in columns if c[0] == e}):
            span = sum(1 for c in columns if c[0] == e and c[1] == op)
            opsets.append(f'<th colspan="{span}">op{op}</th>')
    head3 = "".join(f"<th>{html.escape(c[2])}</th>" for c in columns)
    body = []
    for model in models:
        tds = []
        for col in columns:
            entries = cells.get((model, col), [])
            if not entries:
                tds.append('<td class="na">&mdash;</td>')
                continue
            inner = "<br>".join(
                f'<a href="#{case_anchor(str(r["case_id"]))}" title="{html.escape(_cell_title(r))}">'
                f"{html.escape(str(r['status']))}{_stage_note(r)}</a>{_blame_link(r)}"
                for r in entries
            )
            colour = STATUS_COLOURS.get(str(entries[0]["status"]), "#ffffff")
            tds.append(f'<td style="background:{colour}">{inner}</td>')
        searchable = " ".join([model, *(f"{r['case_id']} {r['status']}" for r in records if str(r["model"]) == model)])
        body.append(
            f'<tr data-filter="{html.escape(searchable)}">'
            f'<th class="model">{html.escape(model)}</th>{"".join(tds)}</tr>'
        )
    return (
        '<table class="matrix"><thead>'
        f'<tr><th rowspan="3">model</th>{head1}</tr><tr>{"".join(opsets)}</tr><tr>{head3}</tr>'
        f"</thead><tbody>{''.join(body)}</tbody></table>"
    )


def _column_key(row: Mapping[str, Any]) -> tuple[str, int, str]:
    return (str(row["exporter"]), int(row["opset"]), str(row["shape"]))


def _stage_note(row: Mapping[str, Any]) -> str:
    """Where a failing case stopped, under its status (the hop that broke on converter paths)."""
    if row["status"] in (Status.PASS.value, Status.SKIP.value) or row["stage"] in ("done", ""):
        return ""
    return f"<br><small>{html.escape(str(row['stage']))}</small>"


def _cell_title(row: Mapping[str, Any]) -> str:
    message = row.get("message") or ""
    blame = blame_words(row)
    said = f"{row['case_id']}: {row['status']} at {row['stage']}" + (f" - {message}" if message else "")
    return said + (f"\n{blame}" if blame else "")


def _blame_link(row: Mapping[str, Any]) -> str:
    """A triaged case's blame under its status, linking to its signature in the Triage section (the
    status above it still links to the case's row)."""
    triage_id = cell_text(row.get("triage_id"))
    if not triage_id or row["status"] in (Status.PASS.value, Status.SKIP.value):
        return ""
    return (
        f'<br><small><a class="blame" href="#{triage_anchor(triage_id)}" '
        f'title="{html.escape(blame_words(row) or "triaged")}; click for its triage">'
        f"{html.escape(cell_text(row.get('triage_blame')) or 'triage')}</a></small>"
    )
