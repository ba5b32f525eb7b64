"""The Triage section of results.html and triage.csv: red cases grouped by whose bug they are
(`triage_blame`), then by signature (`triage_id`), each signature with its first divergent node, its
cases, its repro folder and its issue draft.

The columns are the rows' (suite.judge.triage.findings.Findings.columns); a row that was not
triaged has none of them, or blanks. A signature's figures are those of its representative case:
the one whose repro was kept, else the first by case id.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Mapping
from typing import Any

import pandas as pd

from suite.core.record import Status
from suite.judge.triage.findings import Blame
from suite.report.cells import case_anchor, cell_text, triage_anchor
from suite.report.triage_folder import MISSING

# triage.csv: one row per signature, in the Triage section's order.
SIGNATURE_COLUMNS = [
    "triage_id",
    "blame",
    "project",
    "signature",
    "node",
    "op",
    "source",
    "cases",
    "repro",
    "draft",
    "nodes_before",
    "nodes_after",
    "case_ids",
    "error",
    "floor_ratio",
    "against",
    "match",
    "repro_status",
    "reason",
]
# signature table column -> the row's column it is read from.
_FROM_ROW = {
    "blame": "triage_blame",
    "project": "triage_project",
    "signature": "triage_signature",
    "node": "triage_node",
    "op": "triage_op",
    "source": "triage_source",
    "repro": "triage_repro",
    "draft": "triage_draft",
    "nodes_before": "triage_nodes_before",
    "nodes_after": "triage_nodes_after",
    "error": "triage_error",
    "floor_ratio": "triage_floor_ratio",
    "against": "triage_against",
    "match": "triage_match",
    "repro_status": "triage_repro_status",
    "reason": "triage_reason",
}
_BLAME_ORDER = {blame.value: index for index, blame in enumerate(Blame)}
# Statuses that did not fail: the rest are the red cases a triage is for (an xpass passed).
_NOT_RED = {s.value for s in Status if s.ok} | {Status.XPASS.value}
CASES_LISTED = 8  # case links shown per signature before the rest fold away


def red_mask(frame: pd.DataFrame) -> pd.Series:
    """The failing rows: the ones a triage is made for."""
    if "status" not in frame.columns:
        return pd.Series(False, index=frame.index)
    return ~frame["status"].astype(str).isin(_NOT_RED)


def triaged_mask(frame: pd.DataFrame) -> pd.Series:
    """The rows with a triage (a triage id)."""
    if "triage_id" not in frame.columns:
        return pd.Series(False, index=frame.index)
    return frame["triage_id"].map(cell_text) != ""


def signature_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per signature (SIGNATURE_COLUMNS), by blame, then most cases first."""
    triaged = frame[triaged_mask(frame)]
    if triaged.empty:
        return pd.DataFrame(columns=SIGNATURE_COLUMNS)
    triaged = triaged.sort_values("case_id", kind="stable")
    records = [_signature_row(str(tid), group) for tid, group in triaged.groupby("triage_id", sort=False)]
    records.sort(key=lambda r: (_blame_rank(r["blame"]), r["blame"], -r["cases"], r["triage_id"]))
    return pd.DataFrame(records, columns=SIGNATURE_COLUMNS)


def _blame_rank(blame: Any) -> int:
    """Blame's own order (exporter, runtime, ...); a blame it does not name after them."""
    return _BLAME_ORDER.get(str(blame), len(_BLAME_ORDER))


def _signature_row(triage_id: str, group: pd.DataFrame) -> dict[str, Any]:
    rows = group.to_dict("records")
    kept = [r for r in rows if cell_text(r.get("triage_repro"))]
    first = (kept or rows)[0]
    found = {name: _value(first.get(column)) for name, column in _FROM_ROW.items()}
    for count in ("nodes_before", "nodes_after"):
        found[count] = int(found[count]) if isinstance(found[count], float) else found[count]
    case_ids = [str(r["case_id"]) for r in rows]
    return {**found, "triage_id": triage_id, "cases": len(case_ids), "case_ids": " ".join(case_ids)}


def _value(value: Any) -> Any:
    """A cell's value with pandas' missing marker as None (text as text, numbers as numbers)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return value


def blame_words(row: Mapping[str, Any]) -> str:
    """ "blame: runtime at Conv 'conv1'", for a matrix cell's hover text ("" without a triage)."""
    blame = cell_text(row.get("triage_blame"))
    if not blame:
        return ""
    op, node = cell_text(row.get("triage_op")), cell_text(row.get("triage_node"))
    at = f" at {op}" if op else ""
    return f"blame: {blame}{at}{f' {node!r}' if node else ''}"


# -- the section -----------------------------------------------------------------------------------


def render_triage(frame: pd.DataFrame, missing: Mapping[str, str] | None = None) -> str:
    """The Triage section ("" when no case is red and none was triaged).

    Args:
        missing: triage_id -> why, for repros not in the run folder (suite.report.triage_folder).
    """
    red = int(red_mask(frame).sum())
    table = signature_table(frame)
    if table.empty and not red:
        return ""
    intro = (
        "<p>Each red case's triage: whose bug it is (blame), the first node that left its bound, and a "
        "repro cut down to that node, with a draft of the issue (README.md). Cases with the same "
        "signature are one bug; a matrix cell's blame links here.</p>"
    )
    if table.empty:
        body = f"<p>No red case was triaged ({red} red {_plural(red, 'row')}).</p>"
    else:
        # One table, a heading row per blame: the columns line up from one blame to the next.
        groups = "".join(
            _blame_group(str(blame), group, missing or {}) for blame, group in table.groupby("blame", sort=False)
        )
        body = (
            f'{_summary(frame, table, missing or {})}<table class="triage"><thead><tr><th>signature</th>'
            "<th>project</th><th>first divergent node</th><th>error</th><th>matched</th><th>cases</th>"
            f"<th>repro</th><th>evidence</th></tr></thead>{groups}</table>"
        )
    return f'<section id="triage"><h2>Triage</h2>{intro}{body}</section>'


def _summary(frame: pd.DataFrame, table: pd.DataFrame, missing: Mapping[str, str]) -> str:
    """Drafts per project, cases per blame, and the red cases left without a triage."""
    drafts = Counter(str(p) for p, d in zip(table["project"], table["draft"], strict=True) if cell_text(d))
    said = [
        f"{n} {_plural(n, 'draft')} for {html.escape(project)}" if index == 0 else f"{n} for {html.escape(project)}"
        for index, (project, n) in enumerate(sorted(drafts.items()))
    ]
    line = (", ".join(said) if said else "No draft: no triaged failure kept a repro") + "."
    by_blame: Counter[str] = Counter()
    for blame, cases in zip(table["blame"].astype(str), table["cases"], strict=True):
        by_blame[blame] += int(cases)  # the table's order: by blame
    counts = ", ".join(f"{html.escape(b)} {n}" for b, n in by_blame.items())
    lost = f" {len(missing)} repro {_plural(len(missing), 'folder')} missing." if missing else ""
    return f'<p class="triage-summary"><b>{line}</b> Red cases by blame: {counts}{_not_triaged(frame)}.{lost}</p>'


def _not_triaged(frame: pd.DataFrame) -> str:
    """ "; not triaged: 4 (triage limit reached ×3)": red rows without a triage, with the reason a
    row gives (its triage_reason without a blame)."""
    left = frame[red_mask(frame) & ~triaged_mask(frame)]
    if left.empty:
        return ""
    # The count already says "not triaged": a reason that starts so is not made to say it twice.
    said = left["triage_reason"] if "triage_reason" in left else []
    reasons = Counter(cell_text(r).removeprefix("not triaged: ") for r in said)
    reasons.pop("", None)
    why = ", ".join(f"{html.escape(r)} ×{n}" if n > 1 else html.escape(r) for r, n in reasons.most_common())
    return f"; not triaged: {len(left)}" + (f" ({why})" if why else "")


def _blame_group(blame: str, group: pd.DataFrame, missing: Mapping[str, str]) -> str:
    cases = int(group["cases"].sum())
    rows = "".join(_signature_html(r, missing) for r in group.to_dict("records"))
    heading = f"{html.escape(blame)}: {len(group)} {_plural(len(group), 'signature')}, {cases} {_plural(cases, 'case')}"
    return f'<tbody><tr class="blame"><th colspan="8">{heading}</th></tr>{rows}</tbody>'


def _signature_html(r: Mapping[str, Any], missing: Mapping[str, str]) -> str:
    searchable = " ".join(cell_text(r[c]) for c in ("triage_id", "blame", "project", "op", "node", "case_ids"))
    cells = (
        f"<b>{html.escape(cell_text(r['signature']))}</b><br><small>{html.escape(r['triage_id'])}</small>",
        html.escape(cell_text(r["project"])),
        _divergence(r),
        _error(r),
        html.escape(cell_text(r["match"])),
        _cases(str(r["case_ids"]).split()),
        _repro(r, missing),
        html.escape(cell_text(r["reason"])),
    )
    classes = ("msg", "", "", "", "", "id", "", "msg")
    tds = "".join(f'<td class="{c}">{v}</td>' if c else f"<td>{v}</td>" for c, v in zip(classes, cells, strict=True))
    return f'<tr id="{triage_anchor(r["triage_id"])}" data-filter="{html.escape(searchable)}">{tds}</tr>'


def _divergence(r: Mapping[str, Any]) -> str:
    op, node, source = (cell_text(r[c]) for c in ("op", "node", "source"))
    if not (op or node):
        return "<i>none found</i>"
    where = f"<code>{html.escape(op)}</code>" + (f" <code>{html.escape(repr(node))}</code>" if node else "")
    return where + (f"<br><small>from {html.escape(source)}</small>" if source else "")


def _error(r: Mapping[str, Any]) -> str:
    error, ratio, against = cell_text(r["error"]), cell_text(r["floor_ratio"]), cell_text(r["against"])
    said = html.escape(error) + (f" ({html.escape(ratio)}× its floor)" if ratio else "")
    return said + (f"<br><small>vs {html.escape(against)}</small>" if against else "")


def _cases(case_ids: list[str]) -> str:
    links = [f'<a href="#{case_anchor(c)}">{html.escape(c)}</a>' for c in case_ids]
    shown = "<br>".join(links[:CASES_LISTED])
    rest = links[CASES_LISTED:]
    more = f"<details><summary>{len(rest)} more</summary>{'<br>'.join(rest)}</details>" if rest else ""
    return f"<b>{len(case_ids)}</b><br>{shown}{more}"


def _repro(r: Mapping[str, Any], missing: Mapping[str, str]) -> str:
    """Links to the repro folder and its draft, or why there is none; node counts before -> after."""
    before, after = cell_text(r["nodes_before"]), cell_text(r["nodes_after"])
    nodes = f"<br><small>nodes {html.escape(before or '?')} &rarr; {html.escape(after or '?')}</small>"
    nodes = nodes if before or after else ""
    folder, draft = cell_text(r["repro"]), cell_text(r["draft"])
    if r["triage_id"] in missing:
        why = html.escape(missing[r["triage_id"]])
        return f'<span class="missing" title="{why}">{MISSING}</span>{nodes}'
    if not folder:
        return html.escape(cell_text(r["repro_status"]) or "none") + nodes
    links = f'<a href="{html.escape(folder)}/">folder</a>'
    links += f' &middot; <a href="{html.escape(draft)}">draft</a>' if draft else ""
    return links + nodes


def _plural(n: int, word: str) -> str:
    return word if n == 1 else f"{word}s"
