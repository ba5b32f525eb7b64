"""A diff as Markdown, for a CI job summary (and the history CLI's terminal): the verdict, the
counts, each regressed cause once (with its triage's blame and draft where the run triaged it),
latency lines that say what was measured and by which rule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from suite.core.messages import readable_message
from suite.history.diff import RunData, called_latency, counts
from suite.history.gate import regressed_headline
from suite.history.latency_wording import rule_name
from suite.report.cells import cell_text
from suite.report.diff_groups import CauseGroup, regressed_groups, tally

MD_LIMIT = 50  # rows (or causes) per Markdown table: a job summary is read, not searched
MESSAGE_CHARS = 160  # a cell that is not a message (a version, a figure list)
DERIVED_IDS = 20  # derived case ids listed under a root; the rest are counted


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


def _md_cell(text: Any, limit: int = MESSAGE_CHARS) -> str:
    return _short(text, limit).replace("|", "\\|")


def _md_message(text: Any) -> str:
    return readable_message(text).replace("|", "\\|")


# The header's columns: (heading, counts() key), in the order counts() gives them.
_MD_HEADER = (
    ("compared", "compared"),
    ("regressed", "regressed"),
    ("causes", "regressed_causes"),
    ("fixed", "fixed"),
    ("still failing", "still_failing"),
    ("new", "new"),
    ("removed", "removed"),
    ("unchanged", "unchanged"),
    ("numeric drift", "drifted"),
    ("latency slower", "latency_slower"),
    ("latency faster", "latency_faster"),
    ("latency inconclusive", "latency_inconclusive"),
)


def render_markdown(diff: pd.DataFrame, baseline: RunData, candidate: RunData, gate: Sequence[str]) -> str:
    """Counts, then regressed cases with their messages, then latency changes; then the rest."""
    found = counts(diff)
    verdict = f"**FAIL**: {', '.join(gate)}" if gate else "**PASS**: nothing regressed"
    if not gate and found["regressed"]:  # the gate left correctness out: still say what regressed
        verdict += f" (not gated: {regressed_headline(found)})"
    lines = [
        f"## zoo-suite: `{candidate.run_id}` vs baseline `{baseline.run_id}`",
        "",
        verdict,
        "",
        "| " + " | ".join(heading for heading, _ in _MD_HEADER) + " |",
        "|" + "---:|" * len(_MD_HEADER),
        "| " + " | ".join(str(found[key]) for _, key in _MD_HEADER) + " |",
        "",
    ]
    changes = version_changes(baseline.meta, candidate.meta)
    if changes:
        lines += ["### What differs between the runs", "", "| | baseline | candidate |", "|---|---|---|"]
        lines += [f"| {k} | {_md_cell(b)} | {_md_cell(c)} |" for k, b, c in changes]
        lines.append("")
    lines += _md_regressed(diff, found, triage_of(candidate.rows))
    lines += _md_cases(diff, "fixed", "Fixed", ("base_status", "cand_status", "base_message"))
    drifted = diff[diff["drift"].astype(str) != ""]
    if not drifted.empty:
        lines += [f"### Numeric drift ({len(drifted)})", "", "| case | figures |", "|---|---|"]
        lines += [f"| `{r.case_id}` | {_md_cell(r.drift)} |" for r in drifted.head(MD_LIMIT).itertuples()]
        lines.append("")
    lines += _md_latency(diff, found)
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
        lines.append(f"| `{record['case_id']}` | " + " | ".join(_md_value(record, c) for c in columns) + " |")
    if len(subset) > MD_LIMIT:
        lines.append(f"| ... {len(subset) - MD_LIMIT} more in diff.csv | |")
    return [*lines, ""]


def _md_value(record: Mapping[str, Any], column: str) -> str:
    return _md_message(record[column]) if column.endswith("message") else _md_cell(record[column])


_REGRESSED_COLUMNS = ("base_status", "cand_status", "cand_stage", "cand_message")


def triage_of(rows: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """case_id -> (blame, draft) for each triaged row of a run, the draft relative to the run folder
    ("" where none was kept); {} for a run without triage columns."""
    if not {"case_id", "triage_blame"} <= set(rows.columns):
        return {}
    drafts = rows["triage_draft"] if "triage_draft" in rows.columns else pd.Series("", index=rows.index)
    return {
        str(case_id): (str(blame), cell_text(draft))
        for case_id, blame, draft in zip(rows["case_id"], rows["triage_blame"], drafts, strict=True)
        if cell_text(blame)
    }


def _md_blame(found: tuple[str, str] | None) -> str:
    """ "runtime ([draft](triage/<id>/README.md))": diff.md is written in the run folder, so the link works there."""
    if found is None:
        return ""
    blame, draft = found
    return _md_cell(blame) + (f" ([draft]({draft}))" if draft else "")


def _md_regressed(diff: pd.DataFrame, found: Mapping[str, int], triage: Mapping[str, tuple[str, str]]) -> list[str]:
    """Each cause once: its root's row, then one row naming the regressed cases derived from it; a
    blame column where the candidate's rows were triaged."""
    groups = regressed_groups(diff)
    if not groups:
        return []
    many = found["regressed_causes"] < found["regressed"]
    title = f"{found['regressed']} cases, {found['regressed_causes']} causes" if many else str(found["regressed"])
    blame = ["blame"] if triage else []
    lines = [f"### Regressed ({title.replace(', 1 causes', ', 1 cause')})", ""]
    heads = [*_REGRESSED_COLUMNS, *blame]
    lines += ["| case | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads)]
    for group in groups[:MD_LIMIT]:
        label = f" ({group.label()})" if group.label() else ""
        root = group.root
        cells = [_md_value(root, c) for c in _REGRESSED_COLUMNS]
        cells += [_md_blame(triage.get(str(root["case_id"])))] if triage else []
        lines.append(f"| `{root['case_id']}`{label} | " + " | ".join(cells) + " |")
        if group.derived:
            blames = tally(triage.get(c, ("", ""))[0] for c in group.derived_ids())
            lines.append(_md_derived(group) + (f" {_md_cell(blames)} |" if triage else ""))
    if len(groups) > MD_LIMIT:
        lines.append(f"| ... {len(groups) - MD_LIMIT} more causes in diff.csv | |")
    return [*lines, ""]


def _md_derived(group: CauseGroup) -> str:
    """The row under a root: its derived cases' ids, and their statuses, stages and messages tallied."""
    ids = group.derived_ids()
    listed = ", ".join(f"`{c}`" for c in ids[:DERIVED_IDS]) + (
        f" and {len(ids) - DERIVED_IDS} more" if len(ids) > DERIVED_IDS else ""
    )
    cells = [tally(r[c] for r in group.derived) for c in _REGRESSED_COLUMNS[:-1]]
    messages = tally(readable_message(r["cand_message"], 120) for r in group.derived)
    return (
        f"| ↳ {len(ids)} fail as their export fails on ONNX Runtime: {listed} | "
        + " | ".join([*(_md_cell(c) for c in cells), messages.replace("|", "\\|")])
        + " |"
    )


def _md_latency(diff: pd.DataFrame, found: Mapping[str, int]) -> list[str]:
    """The called latency cases, each saying what was measured and the rule that applied."""
    called = called_latency(diff)
    if not found["latency_timed"] and called.empty:
        return []
    lines = [
        f"### Latency ({found['latency_timed']} timed cases: {found['latency_slower']} slower, "
        f"{found['latency_faster']} faster, "
        f"{found['latency_inconclusive']} inconclusive; within-run ratios {found['ratio_worse']} worse, "
        f"{found['ratio_better']} better)",
        "",
    ]
    if not called.empty:
        lines += ["| case | verdict | measured | rule | within-run ratios |", "|---|---|---|---|---|"]
        for r in called.head(MD_LIMIT).to_dict("records"):
            lines.append(
                f"| `{r['case_id']}` | {r['latency_verdict'] or '-'} | {_md_cell(r['latency_measured'], 300)} "
                f"| {rule_name(str(r['latency_method']))} | {_md_cell(r['ratio_verdicts'])} |"
            )
        lines += ["", *_md_rules(called), ""]
    if found["latency_inconclusive"]:
        lines += [
            f"{_cases_have(found['latency_inconclusive'])} timing changes (p50 or a within-run ratio) that are "
            "inconclusive: significant and large, but the history holds too few earlier runs of those cases to "
            "tell them from this machine's run-to-run noise (see diff.csv, `latency_reason`, `ratio_verdicts`).",
            "",
        ]
    if found["ratio_not_judged"]:
        lines += [
            f"{_cases_have(found['ratio_not_judged'])} a `speedup_vs_eager` that moved but is not judged: the eager "
            "side is timed once per case, not interleaved with the session (`ratio_verdicts` in diff.csv).",
            "",
        ]
    if called.empty and not found["latency_inconclusive"]:
        lines += ["No latency change beyond noise.", ""]
    return lines


def _md_rules(called: pd.DataFrame) -> list[str]:
    """The rules the table's verdicts follow, each once, in full."""
    rules = dict.fromkeys(
        (rule_name(str(m)), str(rule))
        for m, rule in zip(called["latency_method"], called["latency_rule"], strict=True)
        if rule
    )
    said = [f"- **{name}**: {rule.removeprefix(f'{name}: ')}" for name, rule in rules]
    if called["ratio_verdicts"].astype(str).str.contains(": worse|: better").any():
        said.append(
            "- **within-run ratios** (vs_fp32, vs_cpu_provider, speedup): the history rule on the ratio itself "
            "(no per-round samples, so the prediction interval alone)"
        )
    return ["Rules:", *said]


def _cases_have(count: int) -> str:
    return f"{count} case has" if count == 1 else f"{count} cases have"
