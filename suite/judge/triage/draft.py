"""An upstream issue draft for a triaged failure: the README.md of its repro folder.

The draft is written to be pasted into the upstream project's tracker as it is: what fails, in
which versions, what was expected and what came out, and a repro that needs nothing of zoo-suite
(the script inline, one command to run it). It states only what the triage measured.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from suite.core.messages import first_line
from suite.judge.triage.findings import Findings

_TITLE_CHARS = 120


def _fence(text: str, language: str = "") -> str:
    """`text` in a code fence longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{language}\n{text.rstrip()}\n{ticks}"


def _figure(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.4g}"


def title(findings: Findings, message: str) -> str:
    """The issue's one-line title: the project, then the op and what goes wrong with it."""
    d = findings.divergence
    if d is not None and d.max_abs_err is not None:
        what = f"{d.op_type} gives wrong values (max abs error {_figure(d.max_abs_err)})"
    elif d is not None:
        what = f"{d.op_type} fails: {first_line(message, _TITLE_CHARS)}"
    else:
        what = first_line(message, _TITLE_CHARS) or f"{findings.blame.value} failure"
    return f"{findings.project}: {what}"


def _bound(repro_script: str) -> str:
    """The bound a graph repro checks, read from its ATOL and RTOL constants."""
    found = dict(re.findall(r"^(ATOL|RTOL) = (\S+)$", repro_script, re.MULTILINE))
    if len(found) < 2:
        return "within the bound the repro's script checks"
    return f"within atol {found['ATOL']} + rtol {found['RTOL']} * |expected|"


def _expected_and_got(findings: Findings, message: str, repro_script: str) -> list[str]:
    d = findings.divergence
    lines = ["## What was expected", ""]
    raised = re.search(r"^FAILURE_TEXT = (?!''|\"\")", repro_script, re.MULTILINE) is not None
    if d is not None and raised:
        lines.append(
            f"The graph should run at these inputs, as the model does in eager; ONNX Runtime raises in the "
            f"{d.location()} instead ({d.against})."
        )
    elif d is not None:
        lines.append(f"The output `{d.output}` of the {d.location()} should match {d.against}, {_bound(repro_script)}.")
    else:
        lines.append("The call in the repro should complete without raising.")
    lines += ["", "## What came out", ""]
    if d is not None and d.max_abs_err is not None:
        ratio = "" if d.floor_ratio is None else f", {_figure(d.floor_ratio)} times the node's own float32 noise floor"
        lines += [f"Max abs error {_figure(d.max_abs_err)} at `{d.output}`{ratio}.", ""]
    if message:
        lines.append(_fence(message.strip(), "text"))
    return lines


def _reproduce(findings: Findings, repro_script: str) -> list[str]:
    # The export script builds the model from the zoo, so it needs the checkout; the graph one does not.
    needs_zoo = re.search(r"^\s*(from|import) zoo\b", repro_script, re.MULTILINE) is not None
    command = "PYTHONPATH=<zoo-suite checkout> python repro.py" if needs_zoo else "python repro.py"
    lines = ["## Reproduce", ""]
    r = findings.repro
    if r is not None and r.nodes_before is not None and r.nodes_after is not None:
        lines += [
            f"`model.onnx` is the smallest subgraph of the failing model that still fails: {r.nodes_after} of its "
            f"{r.nodes_before} nodes, fed with the stored inputs in `test_data_set_0/`.",
            "",
        ]
    lines += [
        "From this folder:",
        "",
        _fence(command, "sh"),
        "",
        "It exits 1 with a last line starting `REPRODUCED:` while the bug is there, 0 once it is fixed.",
        "",
        _fence(repro_script, "python"),
    ]
    return lines


def write_draft(
    folder: Path,
    findings: Findings,
    *,
    case_ids: Sequence[str],
    message: str,
    versions: Mapping[str, str],
    repro_script: str,
) -> Path:
    """Write `folder/README.md`, an issue draft for the upstream project the findings blame.

    Args:
        folder: The repro folder (it holds repro.py and what it loads).
        findings: The triage: blame, reason, project and the first divergence.
        case_ids: The zoo case ids this failure covers.
        message: The failure as the case saw it (an error, or the figures of a wrong output).
        versions: Package -> version of everything involved (e.g. the repro's versions.json).
        repro_script: The text of the folder's repro.py, put inline.

    Returns:
        The README.md written.
    """
    d = findings.divergence
    why = f"Blamed on the {findings.blame.value}"
    why += f": {findings.reason.rstrip('.')}." if findings.reason else "."
    lines = [f"# {title(findings, message)}", "", "## Which project", "", f"{findings.project}. {why}", ""]
    lines += ["## Versions", "", "| Package | Version |", "| --- | --- |"]
    lines += [f"| {name} | {version} |" for name, version in versions.items()]
    lines += ["", *_expected_and_got(findings, message, repro_script), "", *_reproduce(findings, repro_script), ""]
    lines += ["## Cases", "", "The zoo-suite cases this failure covers:", ""]
    lines += [f"- `{case}`" for case in case_ids]
    if d is not None:
        lines += ["", "## How the first divergence was found", ""]
        lines.append(
            f"Every node's outputs were compared, in topological order, with {d.against}; the {d.location()} "
            f"is the first whose output `{d.output}` leaves its bound. Tensors were matched: {d.match}."
        )
    path = folder / "README.md"
    path.write_text("\n".join(lines).rstrip() + "\n")
    return path
