"""The two ONNX -> TensorFlow converters side by side: for each export both paths took (the tf path's
onnx-tf and the onnx2tf path's onnx2tf), each converter's status per hop and the op it refused, as
tf_converters.csv and a section of results.html, with onnx2tf's refused ops counted as onnx-tf's
are (suite.report.onnx_tf_coverage)."""

from __future__ import annotations

import html

import pandas as pd

from suite.report.cells import STATUS_COLOURS, case_anchor

KEYS = ["model", "exporter", "opset", "shape"]
# Each converter's hops, as its path's row names their columns (<hop>_status, <hop>_message).
ONNX_TF_HOPS = ("onnx_tf", "saved_model", "tf2onnx")
ONNX2TF_HOPS = ("onnx2tf", "tf2onnx", "tflite_float32", "tflite_float16")
_SIDES = (
    ("onnx-tf", "tf", ONNX_TF_HOPS, "onnx_tf_failed_op"),
    ("onnx2tf", "onnx2tf", ONNX2TF_HOPS, "onnx2tf_failed_op"),
)


def converters_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per export both paths took: the model's keys, then per converter its row status, the
    status of each hop, the op it refused, and its case id."""
    if "path" not in frame.columns or not {"tf", "onnx2tf"} <= set(frame["path"].astype(str)):
        return pd.DataFrame()
    sides = []
    for side, path, hops, refused in _SIDES:
        rows = frame[frame["path"].astype(str) == path]
        picked = pd.DataFrame({key: rows[key] for key in KEYS})
        picked[f"{side} status"] = rows["status"]
        for hop in hops:
            picked[f"{side} {hop}"] = rows.get(f"{hop}_status")
        picked[f"{side} refused op"] = rows.get(refused)
        picked[f"{side} case"] = rows["case_id"]
        sides.append(picked)
    table = sides[0].merge(sides[1], on=KEYS, how="inner")
    return table.sort_values(KEYS).reset_index(drop=True)


def summary(table: pd.DataFrame) -> dict[str, int]:
    """How many exports each converter carries to a pass, and what onnx2tf makes of onnx-tf's refusals.

    A refusal is onnx-tf's conversion hop `unsupported` (an op or op version it lacks), not the row's
    status: that is also `unsupported` where the exporter refused the opset (no converter ran) or
    tf2onnx the round trip's. onnx2tf's verdict on it is its SavedModel hop's, judged on the numbers
    (pass or mismatch); the row passes where every hop after it does too.
    """
    onnx_tf, onnx2tf = table["onnx-tf status"].astype(str), table["onnx2tf status"].astype(str)
    refused = table["onnx-tf onnx_tf"].astype(str) == "unsupported"
    saved_model = table["onnx2tf onnx2tf"].astype(str)
    return {
        "exports": len(table),
        "onnx-tf pass": int((onnx_tf == "pass").sum()),
        "onnx2tf pass": int((onnx2tf == "pass").sum()),
        "onnx-tf refused": int(refused.sum()),
        "of which onnx2tf judged": int((refused & saved_model.isin(["pass", "mismatch"])).sum()),
        "of which onnx2tf passes": int((refused & (saved_model == "pass")).sum()),
        "of which onnx2tf passes every hop": int((refused & (onnx2tf == "pass")).sum()),
    }


def render_converters(frame: pd.DataFrame) -> str:
    """The section: a summary line, then a row per export with a coloured cell per converter and hop."""
    table = converters_table(frame)
    if table.empty:
        return ""
    counts = summary(table)
    head = "".join(f"<th>{html.escape(k)}</th>" for k in KEYS)
    for side, _, hops, _ in _SIDES:
        head += f"<th>{side}</th>" + "".join(f"<th>{html.escape(h)}</th>" for h in hops) + "<th>refused op</th>"
    body = ""
    for record in table.to_dict("records"):
        cells = "".join(f"<td>{html.escape(str(record[k]))}</td>" for k in KEYS)
        for side, _, hops, _ in _SIDES:
            case = str(record[f"{side} case"])
            cells += _status_cell(record[f"{side} status"], case, bold=True)
            cells += "".join(_status_cell(record[f"{side} {hop}"], case) for hop in hops)
            op = record[f"{side} refused op"]
            cells += f"<td>{'' if pd.isna(op) else html.escape(str(op))}</td>"
        body += f"<tr>{cells}</tr>"
    line = (
        f"{counts['exports']} exports took both: onnx-tf carries {counts['onnx-tf pass']} through every hop, "
        f"onnx2tf {counts['onnx2tf pass']}. onnx-tf refused an op in {counts['onnx-tf refused']}; onnx2tf's "
        f"SavedModel gives {counts['of which onnx2tf judged']} of those a verdict on the numbers "
        f"({counts['of which onnx2tf passes']} pass; {counts['of which onnx2tf passes every hop']} pass every hop)."
    )
    return (
        "<h2>TensorFlow converters side by side</h2>"
        f"<p>{html.escape(line)} A cell is a hop's status (click it for the case); "
        "onnx2tf's TFLite hops run its float32 and float16 files on LiteRT.</p>"
        f'<table class="coverage"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        f"{_refused_ops(frame)}"
    )


def _status_cell(status: object, case: str, bold: bool = False) -> str:
    if status is None or pd.isna(status) or str(status) == "":
        return "<td></td>"
    text = html.escape(str(status))
    colour = STATUS_COLOURS.get(str(status), "#ffffff")
    text = f"<b>{text}</b>" if bold else text
    return f'<td style="background:{colour}"><a href="#{case_anchor(case)}">{text}</a></td>'


def _refused_ops(frame: pd.DataFrame) -> str:
    """onnx2tf's refused ops and the cases each breaks."""
    if "onnx2tf_failed_op" not in frame.columns:
        return ""
    failed = frame[frame["onnx2tf_failed_op"].notna() & (frame["onnx2tf_failed_op"].astype(str) != "")]
    if failed.empty:
        return "<p>onnx2tf has a converter for every op it was given.</p>"
    by_op: dict[str, list[str]] = {}
    for op, case in zip(failed["onnx2tf_failed_op"].astype(str), failed["case_id"].astype(str), strict=True):
        by_op.setdefault(op, []).append(case)
    rows = "".join(
        f"<tr><td>{html.escape(op)}</td><td>{len(cases)}</td>"
        f"<td class='msg'>{html.escape(', '.join(sorted(cases)))}</td></tr>"
        for op, cases in sorted(by_op.items(), key=lambda item: (-len(item[1]), item[0]))
    )
    return (
        "<h3>onnx2tf coverage</h3><p>Ops onnx2tf has no converter for, with the cases each one breaks.</p>"
        '<table class="coverage"><thead><tr><th>op type</th><th>cases broken</th><th>which</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )
