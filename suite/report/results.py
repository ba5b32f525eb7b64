"""Rows -> pandas -> results.csv, results.html and metadata.json in a run folder."""

from __future__ import annotations

import datetime as dt
import html
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from suite.core.record import Record, Status
from suite.core.rows import is_latency_path
from suite.report.cells import STATUS_COLOURS, cell_text
from suite.report.families import FILTER_BOX, families, family_group, render_family_counts
from suite.report.frontier import frontier_table, render_frontier
from suite.report.latency import latency_rows, render_latency, with_latency_speedups
from zoo.expectations import expectation_usage

# Worst first, for the problems table.
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


def new_run_dir(reports_dir: Path, name: str | None = None) -> Path:
    """A fresh folder under reports_dir/runs, named `name` (the run id) or by date and process."""
    base = name or f"{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    for attempt in range(1, 100):
        run_dir = reports_dir / "runs" / (base if attempt == 1 else f"{base}-{attempt}")
        try:
            run_dir.mkdir(parents=True, exist_ok=False)
            return run_dir
        except FileExistsError:
            continue
    raise FileExistsError(f"{reports_dir / 'runs' / base} and 98 numbered variants exist; clean reports/runs")


def rows_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per case, in the Record's column order, sorted by case id."""
    columns = [c for c in Record.__dataclass_fields__ if c != "extra"]
    extra = sorted({key for row in rows for key in row} - set(columns))
    frame = pd.DataFrame(list(rows), columns=columns + extra)
    return frame.sort_values("case_id", kind="stable").reset_index(drop=True)


def write_run(
    run_dir: Path,
    rows: Sequence[Mapping[str, Any]],
    metadata: Mapping[str, Any],
    summary_html: str = "",
    point_latest: bool = True,
) -> dict[str, Path]:
    """Write results.csv, results.html and metadata.json; point reports/latest at run_dir (unless
    `point_latest` is False: a report rebuilt for an older run leaves "latest" where it is).

    `summary_html` (what changed since a baseline) opens the page, before the matrices.
    """
    frame = rows_frame(rows)
    paths = {
        "csv": run_dir / "results.csv",
        "html": run_dir / "results.html",
        "metadata": run_dir / "metadata.json",
    }
    frame.to_csv(paths["csv"], index=False)
    latency = latency_rows(frame)
    if not latency.empty:
        paths["latency"] = run_dir / "latency.csv"
        latency.to_csv(paths["latency"], index=False)
    coverage = coverage_table(frame)
    if not coverage.empty:
        paths["coverage"] = run_dir / "onnx_tf_coverage.csv"
        coverage.to_csv(paths["coverage"], index=False)
    frontier = frontier_table(frame)
    if not frontier.empty:
        paths["frontier"] = run_dir / "export_frontier.csv"
        frontier.to_csv(paths["frontier"], index=False)
    meta = {**metadata, "status_counts": status_counts(frame), "rows": len(frame)}
    paths["metadata"].write_text(json.dumps(meta, indent=2, default=str))
    paths["html"].write_text(render_html(frame, meta, summary_html))
    if point_latest:
        _point_latest(run_dir)
    return paths


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
    return {str(k): int(v) for k, v in frame["status"].value_counts().sort_index().items()}


def _point_latest(run_dir: Path) -> None:
    # A relative link keeps the reports folder movable.
    latest = run_dir.parent.parent / "latest"
    tmp = latest.with_name(f"latest.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(os.path.relpath(run_dir, latest.parent))
    os.replace(tmp, latest)


def _anchor(case_id: str) -> str:
    return "case-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in case_id)


def _column_key(row: Mapping[str, Any]) -> tuple[str, int, str]:
    return (str(row["exporter"]), int(row["opset"]), str(row["shape"]))


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
                f'<a href="#{_anchor(str(r["case_id"]))}" title="{html.escape(_cell_title(r))}">'
                f"{html.escape(str(r['status']))}{_stage_note(r)}</a>"
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


def _stage_note(row: Mapping[str, Any]) -> str:
    """Where a failing case stopped, under its status (the hop that broke on converter paths)."""
    if row["status"] in (Status.PASS.value, Status.SKIP.value) or row["stage"] in ("done", ""):
        return ""
    return f"<br><small>{html.escape(str(row['stage']))}</small>"


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
        body.append(
            f'<tr id="{_anchor(str(r["case_id"]))}-v"><td>{html.escape(str(r["model"]))}</td>'
            f'<td><a href="#{_anchor(str(r["case_id"]))}">{html.escape(str(r.get("variant") or r["path"]))}</a></td>'
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


def render_coverage(frame: pd.DataFrame) -> str:
    """onnx-tf coverage: for each op type and version it refused, how many cases it breaks, and which."""
    if "onnx_tf_status" not in frame.columns:
        return ""
    table = coverage_table(frame)
    if table.empty:
        return "<h2>onnx-tf coverage</h2><p>onnx-tf implemented every op it was given.</p>"
    rows = "".join(
        f"<tr><td>{html.escape(str(r['op_type']))}</td><td>{int(r['version'])}</td><td>{int(r['cases'])}</td>"
        f'<td class="msg">{html.escape(str(r["case_ids"]))}</td></tr>'
        for r in table.to_dict("records")
    )
    return (
        '<h2>onnx-tf coverage</h2><p>Ops onnx-tf refused ("X version N is not implemented"), '
        "with the cases each one breaks.</p>"
        '<table class="coverage"><thead><tr><th>op type</th><th>version</th><th>cases broken</th>'
        f"<th>which</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def coverage_table(frame: pd.DataFrame) -> pd.DataFrame:
    """op_type, version, cases, case_ids: one row per op onnx-tf refused, most cases first."""
    columns = ["op_type", "version", "cases", "case_ids"]
    if "onnx_tf_failed_op" not in frame.columns:
        return pd.DataFrame(columns=columns)
    failed = frame[frame["onnx_tf_failed_op"].notna() & (frame["onnx_tf_failed_op"] != "")]
    grouped = failed.groupby(["onnx_tf_failed_op", "onnx_tf_failed_op_version"])["case_id"]
    table = grouped.agg(cases="count", case_ids=lambda ids: ", ".join(sorted(ids))).reset_index()
    table.columns = columns
    table["version"] = table["version"].fillna(0).astype(int)  # 0: the message named no version
    return table.sort_values(["cases", "op_type"], ascending=[False, True]).reset_index(drop=True)


def _cell_title(row: Mapping[str, Any]) -> str:
    message = row.get("message") or ""
    return f"{row['case_id']}: {row['status']} at {row['stage']}" + (f" - {message}" if message else "")


def render_details(frame: pd.DataFrame) -> str:
    """Every case with its stage, status, message and figures; cells link here."""
    rows = []
    for r in frame.to_dict("records"):
        colour = STATUS_COLOURS.get(str(r["status"]), "#ffffff")
        figures = "".join(f"<td>{html.escape(cell_text(r.get(c)))}</td>" for c in FIGURE_COLUMNS[3:])
        message = html.escape(str(r.get("message") or ""))
        expectation = html.escape(str(r.get("expectation") or ""))
        rows.append(
            f'<tr id="{_anchor(str(r["case_id"]))}" data-filter="{html.escape(_searchable(r))}">'
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


def render_problems(frame: pd.DataFrame) -> str:
    """Cases that did not pass, worst first, each with its stage and message."""
    problems = frame[frame["status"] != Status.PASS.value]
    if problems.empty:
        return "<p>Every case passed.</p>"
    rank = problems["status"].map({s: i for i, s in enumerate(SEVERITY)}).fillna(len(SEVERITY))
    problems = problems.assign(_rank=rank).sort_values(["_rank", "case_id"])
    rows = "".join(
        f'<tr data-filter="{html.escape(_searchable(r))}">'
        f'<td class="id"><a href="#{_anchor(str(r["case_id"]))}">{html.escape(str(r["case_id"]))}</a></td>'
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


def _link(url: str) -> str:
    return f' <a href="{html.escape(url)}">tracked here</a>' if url else ""


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
        f'<td class="msg">{html.escape(u["reason"])}{_link(u["link"])}</td></tr>'
        for u in usage
    )
    return (
        "<h2>Known failures</h2><p>Each expectation in zoo/expectations.py and the cases of this run it "
        "matched. A stale one (every case passed) should be removed; one that matched no case may only be "
        "outside this run's selection.</p>"
        '<table class="problems"><thead><tr><th>cases</th><th>expected</th><th>state</th><th>matched</th>'
        f"<th>xfail</th><th>xpass</th><th>reason</th></tr></thead><tbody>{rows}</tbody></table>"
    )


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
        f'<h2>Compatibility matrices</h2><p class="legend">{legend}</p>'
        "<p>Hover a cell for its message; click it for the case's row below. "
        "A failing cell names the stage where it stopped.</p>"
        f"{render_matrices(frame, views)}"
        f"{render_coverage(frame)}"
        f"{render_tables(frame, views)}"
        f"{render_latency(frame)}"
        f"<h2>Problems</h2>{render_problems(frame)}"
        f"{render_expectations(frame)}"
        f"<h2>All cases</h2>{render_details(frame)}"
        "</body></html>"
    )
