"""onnx-tf coverage: the ops onnx-tf refused and the cases each breaks, as onnx_tf_coverage.csv's table
and as a section of results.html."""

from __future__ import annotations

import html

import pandas as pd


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
