"""The run's results.html: the page's sections in reading order, its style sheet, and the status counts
that open it."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import pandas as pd

from suite.core.record import Status
from suite.core.rows import is_latency_path
from suite.report.case_tables import SEVERITY, render_details, render_expectations, render_problems
from suite.report.cells import STATUS_COLOURS
from suite.report.families import FILTER_BOX, render_family_counts
from suite.report.frontier import render_frontier
from suite.report.latency import render_latency
from suite.report.matrices import render_matrices
from suite.report.onnx_tf_coverage import render_coverage
from suite.report.tf_converters import render_converters
from suite.report.triage_folder import MISSING_REPROS
from suite.report.triage_section import render_triage
from suite.report.variant_tables import render_tables

_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { border: 1px solid #bbb; padding: 3px 6px; font-size: 13px; }
table.matrix td { text-align: center; min-width: 4.5em; }
table.matrix a, table.details a { color: #111; text-decoration: none; }
th.model { text-align: left; }
td.na { color: #aaa; }
td.slow { background: #f4cccc; font-weight: bold; }
td.msg { max-width: 60em; font-family: ui-monospace, monospace; font-size: 12px; }
td.id { font-family: ui-monospace, monospace; white-space: nowrap; }
.legend span { display: inline-block; padding: 2px 8px; margin-right: 4px; border: 1px solid #bbb; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: 2px 12px; font-size: 13px; }
dl.meta dt { font-weight: bold; }
table.counts td { text-align: center; min-width: 5em; }
.gate-fail { background: #e06666; color: #fff; padding: 6px 10px; display: inline-block; font-weight: bold; }
.gate-pass { background: #b7e1a1; padding: 6px 10px; display: inline-block; font-weight: bold; }
figure.plot img { max-width: 100%; }
details.family { margin: 0 0 0.6em 0; }
details.family > summary { cursor: pointer; font-size: 14px; padding: 2px 0; }
details.family table { margin: 0.3em 0 0.8em 1.2em; }
div.filter { position: sticky; top: 0; background: #fff; padding: 6px 0; border-bottom: 1px solid #ddd; z-index: 1; }
table.families td { text-align: right; }
table.families td.id { text-align: left; }
table.triage td { vertical-align: top; }
table.triage tr.blame th { text-align: left; background: #f3f3f3; font-size: 14px; padding: 6px; }
table.triage tr:target, table.details tr:target { outline: 3px solid #e69138; }
tr[id], details[id] { scroll-margin-top: 3.5em; }  /* a jump to a row lands below the sticky filter box */
table.matrix a.blame { font-style: italic; text-decoration: underline dotted; }
span.missing { color: #a61c00; font-weight: bold; }
p.triage-summary { font-size: 14px; }
"""


def render_html(frame: pd.DataFrame, meta: Mapping[str, Any], summary_html: str = "") -> str:
    """The whole report page: counts and what changed first, then the matrices and the details."""
    counts = ", ".join(f"{k}: {v}" for k, v in meta.get("status_counts", {}).items())
    versions = ", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items())
    facts = {
        "date": meta.get("date", ""),
        "commit": meta.get("git_commit", ""),
        "selection": meta.get("selection", ""),
        "cpu": f"{meta.get('cpu_model', '')} ({meta.get('cpu_count', '')} cores; "
        f"{' '.join(meta.get('cpu_flags', []))})",
        "versions": versions,
        "cases": f"{len(frame)} ({counts})",
    }
    views = path_views(frame, meta)
    meta_html = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in facts.items())
    legend = "".join(f'<span style="background:{c}">{html.escape(s)}</span>' for s, c in STATUS_COLOURS.items())
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>zoo-suite compatibility report</title>"
        f"<style>{_CSS}</style></head><body>"
        "<h1>zoo-suite compatibility report</h1>"
        f"{render_counts(frame)}{summary_html}"
        f"{FILTER_BOX}"
        f"{render_family_counts(frame)}"
        f'<h2>Run</h2><dl class="meta">{meta_html}</dl>'
        f"{render_frontier(frame)}"
        f"{render_triage(frame, meta.get(MISSING_REPROS) or {})}"
        f'<h2>Compatibility matrices</h2><p class="legend">{legend}</p>'
        "<p>Hover a cell for its message; click it for the case's row below. "
        "A failing cell names the stage where it stopped, and a triaged one whose bug it is "
        "(click that for its triage).</p>"
        f"{render_matrices(frame, views)}"
        f"{render_coverage(frame)}"
        f"{render_converters(frame)}"
        f"{render_tables(frame, views)}"
        f"{render_latency(frame)}"
        f"<h2>Problems</h2>{render_problems(frame)}"
        f"{render_expectations(frame)}"
        f"<h2>All cases</h2>{render_details(frame)}"
        "</body></html>"
    )


def path_views(frame: pd.DataFrame, meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    """How to show each path that has rows: its declaration as the run recorded it (suite.paths),
    in declaration order; a path the metadata does not describe is shown as a matrix under its own
    name, never left out."""
    present = [p for p in dict.fromkeys(frame["path"].astype(str)) if p] if "path" in frame else []
    declared = {str(v["name"]): dict(v) for v in meta.get("paths", [])}
    views = [declared[name] for name in declared if name in present]
    views += [
        {"name": name, "title": name, "shown_as": "matrix", "columns": []}
        for name in sorted(set(present) - set(declared))
        if not is_latency_path(name)
    ]
    return views


def render_counts(frame: pd.DataFrame) -> str:
    """One coloured cell per status with its count: the first thing a reader sees."""
    found = status_counts(frame)
    order = [s for s in (Status.PASS.value, *SEVERITY) if s in found]
    cells = "".join(
        f'<td style="background:{STATUS_COLOURS.get(s, "#fff")}"><b>{found[s]}</b><br>{html.escape(s)}</td>'
        for s in order
    )
    return f'<table class="counts"><tr><td><b>{len(frame)}</b><br>cases</td>{cells}</tr></table>'


def status_counts(frame: pd.DataFrame) -> dict[str, int]:
    """Cases per status, by status name: what metadata.json records and the counts row shows."""
    return {str(k): int(v) for k, v in frame["status"].value_counts().sort_index().items()}
