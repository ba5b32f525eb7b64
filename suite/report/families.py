"""Reading a report of 150+ models: per-family counts first, each family's matrix rows in a group that
collapses, and a filter box that narrows every table to the models or cases whose name matches.

Plain HTML and a few lines of script in the page itself: the report stays one file that opens
anywhere, offline.
"""

from __future__ import annotations

import html

import pandas as pd

from suite.core.record import Status
from suite.core.rows import not_judged_mask
from suite.report.cells import STATUS_COLOURS

_SKIPPED = Status.SKIP.value
NOT_JUDGED = "not judged"


def families(frame: pd.DataFrame) -> pd.Series:
    """Each row's family ("misc" where none was recorded)."""
    if "family" not in frame.columns:
        return pd.Series("misc", index=frame.index)
    return frame["family"].fillna("").astype(str).replace("", "misc")


def family_anchor(family: str) -> str:
    return "family-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in family)


def family_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """family, models, cases, one column per status present ("not judged" apart from "skip"), and
    pass_rate (passed cases over cases that ran, skips and not-judged left out: an xfail or an
    exporter's "unsupported" is not a pass), one row per family by name."""
    if frame.empty:
        return pd.DataFrame(columns=["family", "models", "cases", "pass_rate"])
    # A skip that ran but could judge nothing (empty or constant outputs) is counted apart.
    statuses = frame["status"].astype(str).where(~not_judged_mask(frame), NOT_JUDGED)
    data = frame.assign(_family=families(frame), _status=statuses)
    counts = pd.crosstab(data["_family"], data["_status"])
    table = pd.DataFrame(
        {
            "models": data.groupby("_family")["model"].nunique(),
            "cases": data.groupby("_family")["case_id"].count(),
        }
    ).join(counts)
    ran = table["cases"] - sum(table[s] if s in table else 0 for s in (_SKIPPED, NOT_JUDGED))
    passed = table[Status.PASS.value] if Status.PASS.value in table else 0
    table["pass_rate"] = (passed / ran.where(ran > 0)).round(3)
    return table.rename_axis("family").reset_index()


def render_family_counts(frame: pd.DataFrame) -> str:
    """The per-family counts table that opens a report of several families ("" for one family)."""
    table = family_counts(frame)
    if len(table) < 2:
        return ""
    statuses = [s for s in (*STATUS_COLOURS, NOT_JUDGED) if s in table.columns]
    head = "".join(
        f'<th style="background:{STATUS_COLOURS.get(s, STATUS_COLOURS[_SKIPPED])}">{html.escape(s)}</th>'
        for s in statuses
    )
    rows = []
    for r in table.to_dict("records"):
        cells = "".join(f"<td>{int(r[s]) or ''}</td>" for s in statuses)
        rate = "" if pd.isna(r["pass_rate"]) else f"{r['pass_rate']:.0%}"
        rows.append(
            f'<tr data-filter="{html.escape(str(r["family"]))}">'
            f'<td class="id"><a href="#{family_anchor(str(r["family"]))}">{html.escape(str(r["family"]))}</a></td>'
            f"<td>{int(r['models'])}</td><td>{int(r['cases'])}</td><td><b>{rate}</b></td>{cells}</tr>"
        )
    return (
        "<h2>Families</h2><p>Cases per family and status; the pass rate is passed cases over the cases that "
        "ran (skips left out; xfail and unsupported are not passes). <i>not judged</i>: cases that ran and passed "
        "on outputs that cannot tell a right model from a wrong one (empty, constant, or the same for different "
        "inputs), skip rows of their own. A family's name jumps to its matrix rows.</p>"
        '<table class="families"><thead><tr><th>family</th><th>models</th><th>cases</th><th>pass rate</th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{render_excluded(frame)}"
    )


def excluded_entries(frame: pd.DataFrame) -> pd.DataFrame:
    """model, family, reason: the entries left out on purpose (skip rows at build, e.g. over the corpus
    size cap), one row per model."""
    needed = {"status", "stage", "model", "message"}
    if frame.empty or not needed <= set(frame.columns):
        return pd.DataFrame(columns=["model", "family", "reason"])
    left_out = frame[(frame["status"] == _SKIPPED) & (frame["stage"] == "build")]
    table = left_out.assign(family=families(left_out), reason=left_out["message"].fillna("").astype(str))
    return table.drop_duplicates("model")[["model", "family", "reason"]].sort_values("model").reset_index(drop=True)


def render_excluded(frame: pd.DataFrame) -> str:
    """The entries left out of the run, each with its reason ("" when none was)."""
    table = excluded_entries(frame)
    if table.empty:
        return ""
    rows = "".join(
        f'<tr data-filter="{html.escape(r["model"] + " " + r["family"])}"><td class="id">{html.escape(r["model"])}</td>'
        f'<td>{html.escape(r["family"])}</td><td class="msg">{html.escape(r["reason"])}</td></tr>'
        for r in table.to_dict("records")
    )
    return (
        f"<details><summary><b>{len(table)} {'entry' if len(table) == 1 else 'entries'} left out</b> "
        "(each one's cases are skip rows saying why)"
        '</summary><table class="excluded"><thead><tr><th>model</th><th>family</th><th>reason</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></details>"
    )


def family_group(family: str, frame: pd.DataFrame, table_html: str, anchor: bool) -> str:
    """A family's matrix inside a <details> that collapses, its summary giving the family's counts."""
    counts = frame["status"].astype(str).value_counts()
    summary = ", ".join(f"{v} {k}" for k, v in counts.items())
    models = frame["model"].nunique()
    ident = f' id="{family_anchor(family)}"' if anchor else ""
    return (
        f'<details open class="family"{ident} data-family="{html.escape(family)}">'
        f"<summary><b>{html.escape(family)}</b>: {models} model{'s' if models != 1 else ''}, {summary}</summary>"
        f"{table_html}</details>"
    )


FILTER_BOX = """
<div class="filter"><label>Filter models and cases: <input id="zoo-filter" type="search"
 placeholder="e.g. resnet, hf_, dynamo-op25, mismatch" size="40"></label>
 <button type="button" onclick="zooFold(false)">collapse all</button>
 <button type="button" onclick="zooFold(true)">expand all</button> <span id="zoo-filter-count"></span></div>
<script>
function zooFold(open) { document.querySelectorAll("details.family").forEach(d => { d.open = open; }); }
document.getElementById("zoo-filter").addEventListener("input", event => {
  const words = event.target.value.toLowerCase().split(/\\s+/).filter(w => w);
  let shown = 0, total = 0;
  document.querySelectorAll("tr[data-filter]").forEach(row => {
    const text = row.dataset.filter.toLowerCase();
    const keep = words.every(w => text.includes(w));
    row.style.display = keep ? "" : "none";
    if (row.closest("table.matrix")) { total += 1; shown += keep ? 1 : 0; }
  });
  // A family with no row left is hidden; one with a match opens.
  document.querySelectorAll("details.family").forEach(group => {
    const rows = group.querySelectorAll("tr[data-filter]");
    const visible = [...rows].some(r => r.style.display !== "none");
    group.style.display = visible ? "" : "none";
    if (words.length && visible) { group.open = true; }
  });
  document.getElementById("zoo-filter-count").textContent = words.length ? `${shown} of ${total} matrix rows` : "";
});
</script>
"""
