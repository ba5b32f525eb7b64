"""The exporters' failure frontier: every failing export grouped by what broke, per exporter and opset.

The torch-side counterpart of the onnx-tf coverage table, and the first thing to read after a torch
or onnxscript upgrade: "aten::unflatten is not exported at opset 11 (4 cases: ...)" says more than
a matrix of red cells. Each export is counted once, on its ort row (the other paths share it).
"""

from __future__ import annotations

import html
import re

import pandas as pd

# (pattern on the message, signature template): the first that matches names the failure.
_SIGNATURES: tuple[tuple[re.Pattern[str], str], ...] = (
    # A dynamic export right at its own size and wrong at another (its message explains more, with
    # words such as "data-dependent" that must not take it into the guard's group below).
    (re.compile(r"values differ away from the export's size"), "dynamic export: values wrong away from its size"),
    (
        re.compile(r"torch\.classes\.quantized\.(\w+)"),
        "torch.export: quantized packed parameters ({0}) not exportable",
    ),
    (re.compile(r"ONNX symbolic expected the output of .*?= onnx::(\w+)"), "TorchScript exporter: {0} output refused"),
    (re.compile(r"operator '([\w:.]+)' to ONNX opset version (\d+)"), "unsupported operator {0} (opset {1})"),
    (
        re.compile(r"GuardOnDataDependentSymNode|data-dependent|data dependent", re.I),
        "torch.export: data-dependent guard",
    ),
    (re.compile(r"Constraints violated|specialized|guard", re.I), "torch.export: shape guard or specialization"),
    # torch.onnx (torch.export-based) finding no ONNX translation for an operator.
    (re.compile(r"No ONNX function found for <OpOverload\(op='([\w.:]+)'"), "torch.onnx: no ONNX function for {0}"),
    (re.compile(r"Cannot find a compatible OpOverload for ([\w.:]+)"), "torch.onnx: no matching overload of {0}"),
    # The TorchScript exporter's symbolic function of an operator refusing its arguments.
    (re.compile(r"SymbolicValueError: .*? of node '(\w+)'"), "TorchScript exporter: symbolic of {0} refused"),
    (re.compile(r"onnx\.checker[^:]*rejected the model: ([^:(]{0,60})"), "onnx.checker: {0}"),
    (re.compile(r"shape inference failed: ([^:(]{0,60})"), "shape inference: {0}"),
    (re.compile(r"dynamic axes not dynamic|as fixed sizes"), "dynamic axes not dynamic (a size baked into the graph)"),
    # ONNX Runtime refusing the exported graph, or failing in a node while running it.
    (re.compile(r"ONNX Runtime has no kernel for ([\w.]+) \(opset (\d+)\)"), "ONNX Runtime: no kernel for {0}({1})"),
    (
        re.compile(r"session creation failed: .*?Op \((\w+)\) \[(\w+)\] ?([^:\n]{0,50})"),
        "ONNX Runtime session: {0} node, {1} {2}",
    ),
    (re.compile(r"session creation failed: \[ONNXRuntimeError\] : \d+ : (\w+)"), "ONNX Runtime session: {0}"),
    (re.compile(r"while running (\w+) node"), "ONNX Runtime run: {0} node failed"),
    (re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Unsupported)):"), "{0}"),
)
# `blame` last: the most common triage_blame of the group's rows ("" where none was triaged).
FRONTIER_COLUMNS = ["exporter", "opset", "signature", "cases", "statuses", "models", "blame"]
_NOT_FAILURES = {"pass", "skip", "xpass"}


def signature(status: str, stage: str, message: str) -> str:
    """What broke, in a form shared by every case it breaks (no sizes, paths or values)."""
    for pattern, template in _SIGNATURES:
        found = pattern.search(message or "")
        if found:
            return template.format(*(g.strip() for g in found.groups()))
    if status == "mismatch" or (status == "xfail" and "outside atol" in (message or "")):
        return f"numerics mismatch at {stage}"
    return f"{status} at {stage}"


def frontier_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per exporter, opset and signature: how many exports it breaks and which models."""
    needed = {"path", "status", "exporter", "opset", "stage", "message", "model"}
    if frame.empty or not needed <= set(frame.columns):
        return pd.DataFrame(columns=FRONTIER_COLUMNS)
    failed = frame[(frame["path"] == "ort") & ~frame["status"].isin(_NOT_FAILURES)].copy()
    if failed.empty:
        return pd.DataFrame(columns=FRONTIER_COLUMNS)
    failed["signature"] = [
        signature(str(s), str(st), str(m) if pd.notna(m) else "")
        for s, st, m in zip(failed["status"], failed["stage"], failed["message"], strict=True)
    ]
    grouped = failed.groupby(["exporter", "opset", "signature"])
    table = grouped.agg(
        cases=("case_id", "count"),
        statuses=("status", lambda s: ", ".join(f"{k} {v}" for k, v in s.value_counts().items())),
        models=("model", lambda m: ", ".join(sorted(set(m)))),
        blame=("triage_blame", _most_common) if "triage_blame" in failed else ("case_id", lambda _: ""),
    ).reset_index()
    return table.sort_values(["exporter", "opset", "cases"], ascending=[True, True, False]).reset_index(drop=True)


def _most_common(values: pd.Series) -> str:
    """The blame most of a group's rows got (ties: the first by name); "" where none was triaged."""
    found = values.dropna().astype(str)
    found = found[found != ""]
    if found.empty:
        return ""
    counts = found.value_counts()
    return str(min(counts.index[counts == counts.max()]))


def render_frontier(frame: pd.DataFrame) -> str:
    """The frontier section of results.html (before the matrices), or "" when no ort row ran."""
    if "path" not in frame.columns or not (frame["path"] == "ort").any():
        return ""
    table = frontier_table(frame)
    if table.empty:
        return "<h2>Exporters' failure frontier</h2><p>Every export passed on ONNX Runtime.</p>"
    rows = "".join(
        f'<tr data-filter="{html.escape(" ".join(str(r[c]) for c in FRONTIER_COLUMNS))}">'
        f"<td>{html.escape(str(r['exporter']))}</td><td>{int(r['opset'])}</td>"
        f"<td>{html.escape(str(r['signature']))}</td><td>{int(r['cases'])}</td>"
        f'<td>{html.escape(str(r["statuses"]))}</td><td class="msg">{html.escape(str(r["models"]))}</td>'
        f"<td>{html.escape(str(r['blame']))}</td></tr>"
        for r in table.to_dict("records")
    )
    return (
        "<h2>Exporters' failure frontier</h2><p>Every export that failed (its ort row), grouped by exporter, "
        "opset and what broke; xfail rows are known failures, still on the frontier. The blame is the triage's "
        "(most of the group's cases), blank where none was triaged.</p>"
        '<table class="frontier"><thead><tr><th>exporter</th><th>opset</th><th>what broke</th><th>cases</th>'
        f"<th>statuses</th><th>models</th><th>blame</th></tr></thead><tbody>{rows}</tbody></table>"
    )
