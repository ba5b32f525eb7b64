"""Latency tables: per run (every variant on every provider) and across runs (providers side by side).

Rows from several environments (onnxruntime, onnxruntime-openvino, onnxruntime-gpu)
can be concatenated; a provider column is named by the package that ran it and the
provider label, e.g. "onnxruntime-openvino / openvino".
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd

from suite.core.record import Status
from suite.core.rows import latency_mask
from suite.report.cells import STATUS_COLOURS, cell_text

LATENCY_COLUMNS = (
    "model",
    "variant",
    "ort_package",
    "provider_label",
    "status",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "mean_ms",
    "stddev_ms",
    "iqr_ms",
    "rounds",
    "vs_fp32",
    "eager_p50_ms",
    "eager_device",
    "speedup_vs_eager",
    "throughput_per_s",
    "large_batch",
    "large_batch_throughput_per_s",
    "ort_session_seconds",
    "first_run_ms",
    "placement_share",
    "placed_elsewhere",
    "optimized_for",
    "max_abs_err",
    "tf32_max_abs_err",
    "strict_max_abs_err",
    "numerics_policy",
    "provider_options_in_effect",
    "intra_op_threads",
    "inter_op_threads",
    "ort_version",
    "case_id",
    "message",
)
# The A/B against a baseline's artifact (suite.paths.latency_ab), where the run had one.
AB_COLUMNS = (
    "case_id",
    "ab_baseline_run",
    "ab_verdict",
    "ab_ratio",
    "ab_ci_low",
    "ab_ci_high",
    "ab_a_p50_ms",
    "ab_b_p50_ms",
    "ab_pairs",
    "ab_outputs_max_abs_err",
    "ab_outputs_changed",
    "artifact_sha256",
)


def latency_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The latency rows with vs_fp32 (FP32 p50 / variant p50, same model, package and provider)."""
    if "path" not in frame.columns:
        return pd.DataFrame(columns=list(LATENCY_COLUMNS))
    rows = frame[latency_mask(frame)].copy()
    if rows.empty:
        return pd.DataFrame(columns=list(LATENCY_COLUMNS))
    for column in LATENCY_COLUMNS:
        if column not in rows.columns:
            rows[column] = None
    keys = ["model", "ort_package", "provider_label"]
    passed_fp32 = rows[(rows["variant"] == "fp32") & (rows["status"] == Status.PASS.value)]
    baseline = passed_fp32[[*keys, "p50_ms"]].drop_duplicates(keys).rename(columns={"p50_ms": "fp32_p50_ms"})
    rows = rows.merge(baseline, on=keys, how="left")
    rows["vs_fp32"] = (rows["fp32_p50_ms"].astype("float64") / rows["p50_ms"].astype("float64")).round(3)
    rows = rows.sort_values(["model", "ort_package", "provider_label", "variant"], kind="stable")
    return rows[list(LATENCY_COLUMNS)].reset_index(drop=True)


# What the variant tables take from the latency rows (with_latency_speedups).
SPEED_COLUMNS = ("fp32_ms", "variant_ms", "speedup", "slower_than_fp32")


def with_latency_speedups(variants: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """Variant rows (optimize, quantize) with fp32_ms, variant_ms and speedup (their ratio) from the
    same run's latency rows on ONNX Runtime's CPU provider, same model and variant: each variant is
    timed once, there. Empty where the latency path did not time the variant or its row did not pass."""
    if variants.empty or "variant" not in variants.columns:
        return variants
    timed = latency_rows(frame)
    timed = timed[(timed["provider_label"] == "cpu") & (timed["status"] == Status.PASS.value)]
    p50 = timed[["model", "variant", "p50_ms"]].drop_duplicates(["model", "variant"])
    fp32 = p50[p50["variant"] == "fp32"][["model", "p50_ms"]].rename(columns={"p50_ms": "fp32_ms"})
    speeds = p50.rename(columns={"p50_ms": "variant_ms"}).merge(fp32, on="model")
    speeds["speedup"] = (speeds["fp32_ms"].astype("float64") / speeds["variant_ms"].astype("float64")).round(3)
    kept = variants.drop(columns=[c for c in SPEED_COLUMNS if c in variants.columns])
    merged = kept.merge(speeds, on=["model", "variant"], how="left").set_axis(kept.index)
    merged["slower_than_fp32"] = merged["speedup"] < 1.0
    return merged


def provider_comparison(frame: pd.DataFrame) -> pd.DataFrame:
    """Per model and variant, the p50 latency on each (package, provider) side by side.

    A cell that did not pass holds its status instead of a number; each provider
    after the first gets ratio columns (reference p50 / this one's) against the first
    CPU column and against the CPU provider of its own package.
    """
    rows = latency_rows(frame)
    if rows.empty:
        return pd.DataFrame()
    rows = rows.assign(where=rows["ort_package"].astype(str) + " / " + rows["provider_label"].astype(str))
    rows["cell"] = [
        round(float(p50), 4) if status == Status.PASS.value else status
        for p50, status in zip(rows["p50_ms"], rows["status"], strict=True)
    ]
    table = rows.pivot_table(index=["model", "variant"], columns="where", values="cell", aggfunc="first")
    columns = sorted(table.columns, key=lambda c: (not c.endswith("/ cpu"), c))  # CPU first: the reference
    table = table[columns]
    # Each provider against the first CPU column, and against its own package's CPU provider:
    # that one ran in the same process, minutes apart, so it is the fairer comparison.
    for column in columns[1:]:
        references = dict.fromkeys([columns[0], column.rsplit(" / ", 1)[0] + " / cpu"])
        for reference in references:
            if reference in columns and reference != column:
                ratio = pd.to_numeric(table[reference], errors="coerce") / pd.to_numeric(table[column], errors="coerce")
                table[f"{column} speedup vs {reference}"] = ratio.round(3)
    table.columns = [f"p50 ms: {c}" if c in columns else c for c in table.columns]
    return table.reset_index()


def render_latency(frame: pd.DataFrame) -> str:
    """The latency section of results.html: every variant on every provider, then providers side by side."""
    from suite.report.plots.latency_bars import latency_chart, speedup_chart

    rows = latency_rows(frame)
    if rows.empty:
        return ""
    return _ab_section(frame) + (
        "<h2>Latency</h2><p>session.run per call at batch 1 (pytest-benchmark: warm-up, calibrated rounds, "
        "fixed thread pools); vs_fp32 = FP32 p50 / variant p50 on the same provider; speedup_vs_eager = eager "
        "p50 / variant p50 on the same inputs; placement_share = share of the model's nodes the provider ran.</p>"
        f"{latency_chart(rows)}{speedup_chart(rows)}"
        f"{frame_table(rows, 'latency')}"
        "<h3>Providers side by side (p50 ms)</h3>"
        f"{frame_table(provider_comparison(frame), 'providers')}"
    )


def _ab_section(frame: pd.DataFrame) -> str:
    """The A/B against the baseline's artifacts, where the run timed any (first: it is the verdict)."""
    from suite.report.plots.vs_baseline import ab_chart

    if "ab_verdict" not in frame.columns:
        return ""
    rows = frame[latency_mask(frame) & frame["ab_verdict"].notna()].copy()
    if rows.empty:
        return ""
    for column in AB_COLUMNS:
        if column not in rows.columns:
            rows[column] = None
    said = rows["ab_verdict"].value_counts().to_dict()
    counts = ", ".join(f"{verdict} {count}" for verdict, count in said.items())
    return (
        f"<h2>Latency A/B against {html.escape(str(rows['ab_baseline_run'].iloc[0]))}</h2>"
        "<p>Each latency case timed the baseline run's artifact and its own in alternating blocks of calls "
        "(same provider, threads and inputs); the verdict is from the paired ratios (README). "
        f"{html.escape(counts)}.</p>"
        f"{ab_chart(rows)}{frame_table(rows[list(AB_COLUMNS)].sort_values('case_id'), 'ab')}"
    )


def frame_table(table: pd.DataFrame, css_class: str, columns: Sequence[str] | None = None) -> str:
    """A plain HTML table; status cells coloured like the matrices."""

    shown = list(columns or table.columns)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown)
    body = []
    for record in table.to_dict("records"):
        cells = []
        for column in shown:
            value = record.get(column)
            colour = STATUS_COLOURS.get(str(value)) if isinstance(value, str) else None
            style = f' style="background:{colour}"' if colour else ""
            css = (
                ' class="msg"'
                if column in ("message", "placed_elsewhere", "numerics_policy", "provider_options_in_effect")
                else ""
            )
            cells.append(f"<td{style}{css}>{html.escape(cell_text(value))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f'<table class="{css_class}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
