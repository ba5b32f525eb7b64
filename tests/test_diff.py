"""The regression diff's rules: case classification, numeric drift, latency verdicts, the gate, sharding."""

from __future__ import annotations

import math
import random

import pandas as pd
import pytest

from suite.history.case_change import Change, classify
from suite.history.diff import DiffThresholds, RunData, diff_runs, error_drift, gate_failures, parse_fail_on
from suite.history.latency_verdict import LatencyThresholds, LatencyVerdict, judge_change
from suite.report.diff import render_diff_section, render_markdown, version_changes
from suite.selection.shard import Shard, models_of_shard, parse_shard


def _row(status: str, stage: str = "done", message: str = "", **extra: object) -> dict:
    return {"case_id": "c", "model": "m", "path": "ort_cpu", "status": status, "stage": stage, "message": message,
            **extra}  # fmt: skip


@pytest.mark.parametrize(
    ("before", "after", "change"),
    [
        (_row("pass"), _row("pass"), Change.UNCHANGED),
        (_row("pass"), _row("mismatch", "ort"), Change.REGRESSED),
        (_row("pass"), _row("xfail", "export"), Change.REGRESSED),  # a new expectation hides nothing
        (_row("xfail", "export"), _row("crash", "export"), Change.REGRESSED),
        (_row("mismatch", "dynamic_sizes"), _row("export_error", "export"), Change.REGRESSED),  # fails earlier
        (_row("mismatch", "version_op21"), _row("mismatch", "version_op13"), Change.REGRESSED),
        (_row("mismatch", "ort", "a"), _row("mismatch", "ort", "b"), Change.STILL_FAILING),
        (_row("export_error", "export"), _row("mismatch", "ort"), Change.STILL_FAILING),  # got further
        (_row("mismatch", "ort"), _row("pass"), Change.FIXED),
        (_row("xfail", "export"), _row("xpass"), Change.FIXED),
        (None, _row("pass"), Change.NEW),
        (_row("pass"), None, Change.REMOVED),
    ],
)
def test_cases_are_classified(before: dict | None, after: dict | None, change: Change) -> None:
    assert classify(before, after)[0] == change


def test_error_drift_needs_both_the_factor_and_the_floor() -> None:
    rules = DiffThresholds()
    assert error_drift(_row("pass", max_abs_err=1e-7), _row("pass", max_abs_err=5e-6), rules) == []  # below 1e-5
    grown = error_drift(_row("pass", max_abs_err=1e-6), _row("pass", max_abs_err=3e-5), rules)
    assert grown == ["max_abs_err 1e-06 -> 3e-05"]
    assert error_drift(_row("pass", max_abs_err=1e-5), _row("pass", max_abs_err=5e-5), rules) == []  # only 5x
    hop = error_drift(_row("pass", onnx_tf_max_abs_err=1e-6), _row("pass", onnx_tf_max_abs_err=1e-3), rules)
    assert hop == ["onnx_tf_max_abs_err 1e-06 -> 0.001"]


def _samples(centre: float, n: int = 200, seed: int = 0) -> list[float]:
    draw = random.Random(seed)
    return [centre * math.exp(draw.gauss(0, 0.05)) for _ in range(n)]


def test_a_large_change_without_history_is_inconclusive_and_says_why() -> None:
    judged = judge_change(1.0, 3.0, [1.0, 1.02], LatencyThresholds(), _samples(1.0), _samples(3.0, seed=1))
    assert judged.verdict == LatencyVerdict.INCONCLUSIVE
    assert "2 earlier runs" in judged.reason and judged.p_value is not None and judged.p_value < 1e-6


def test_a_change_outside_a_stable_history_is_called_and_one_inside_a_noisy_one_is_not() -> None:
    rules = LatencyThresholds()
    stable = [1.0, 1.03, 0.98, 1.01]
    slower = judge_change(1.0, 3.0, stable, rules, _samples(1.0), _samples(3.0, seed=1))
    assert slower.verdict == LatencyVerdict.SLOWER and slower.detectable_change is not None
    assert slower.detectable_change < 2.0
    noisy = [1.0, 1.7, 0.7, 1.3]
    within = judge_change(1.0, 1.6, noisy, rules, _samples(1.0), _samples(1.6, 1))
    assert within.verdict == LatencyVerdict.WITHIN_NOISE
    faster = judge_change(1.0, 0.3, stable, rules, _samples(1.0), _samples(0.3, seed=1))
    assert faster.verdict == LatencyVerdict.FASTER


def test_identical_samples_or_a_small_effect_are_unchanged() -> None:
    same = _samples(1.0)
    rules = LatencyThresholds()
    assert judge_change(1.0, 1.0, [1.0] * 5, rules, same, same).verdict == LatencyVerdict.UNCHANGED
    small = judge_change(1.0, 1.05, [1.0] * 5, rules, _samples(1.0), _samples(1.05, seed=1))
    assert small.verdict == LatencyVerdict.UNCHANGED and "below the 15% minimum" in small.reason


def test_a_speedup_that_drops_is_worse() -> None:
    judged = judge_change(3.0, 1.0, [3.0, 3.1, 2.9, 3.05], LatencyThresholds(), higher_is_worse=False)
    assert judged.verdict == LatencyVerdict.SLOWER


def _latency_row(case: str, status: str, p50: float, variant: str = "fp32") -> dict:
    fields = {"model": "m", "path": f"lat.{variant}.cpu", "stage": "done", "message": "", "variant": variant}
    return {**fields, "case_id": case, "status": status, "p50_ms": p50, "provider_label": "cpu", "ort_package": "ort"}


def test_diff_runs_judges_latency_with_history_and_gates_as_configured() -> None:
    base = pd.DataFrame([_latency_row("a", "pass", 1.0), _latency_row("b", "pass", 2.0)])
    cand = pd.DataFrame([_latency_row("a", "pass", 3.0), _latency_row("b", "mismatch", 2.0)])
    samples_base = {"a": _samples(1.0), "b": _samples(2.0)}
    history = pd.DataFrame(
        [{**_latency_row("a", "pass", p50), "run_id": f"r{i}"} for i, p50 in enumerate([1.0, 1.02, 0.99])]
    )
    diff = diff_runs(
        RunData("base", base, samples_base), RunData("cand", cand, {"a": _samples(3.0, seed=1)}), history
    ).set_index("case_id")
    assert diff.loc["a", "change"] == "unchanged" and diff.loc["a", "latency_verdict"] == "slower"
    assert diff.loc["b", "change"] == "regressed" and diff.loc["b", "latency_verdict"] == "not_measured"
    assert gate_failures(diff.reset_index(), parse_fail_on("correctness")) == ["1 regressed"]
    assert len(gate_failures(diff.reset_index(), parse_fail_on("all"))) == 2
    assert gate_failures(diff.reset_index(), parse_fail_on("none")) == []
    with pytest.raises(ValueError, match="--fail-on takes"):
        parse_fail_on("speed")


def test_markdown_names_regressions_and_what_differs_between_the_runs() -> None:
    base = RunData("b", pd.DataFrame([_row("pass")]), meta={"versions": {"onnxruntime": "1.31.0"}})
    cand = RunData("c", pd.DataFrame([_row("mismatch", "ort", "m | 1")]), meta={"versions": {"onnxruntime": "1.32.0"}})
    diff = diff_runs(base, cand)
    text = render_markdown(diff, base, cand, gate_failures(diff, ("correctness",)))
    assert "**FAIL**: 1 regressed" in text and "### Regressed (1)" in text and "m \\| 1" in text
    assert "| onnxruntime | 1.31.0 | 1.32.0 |" in text
    assert version_changes(base.meta, base.meta) == []
    still = diff_runs(cand, RunData("d", pd.DataFrame([_row("mismatch", "ort", "other words")])))
    page = render_diff_section(still, cand, cand, [])
    assert "Still failing, message changed (1)" in page and "other words" in page


def test_shards_split_by_model_cover_everything_once_and_are_deterministic() -> None:
    weights = {f"model{i}": (i % 5) + 1 for i in range(17)}
    shards = [models_of_shard(weights, Shard(k, 3)) for k in (1, 2, 3)]
    assert set().union(*shards) == set(weights) and sum(len(s) for s in shards) == 17
    assert shards == [models_of_shard(dict(reversed(weights.items())), Shard(k, 3)) for k in (1, 2, 3)]
    loads = [sum(weights[m] for m in s) for s in shards]
    assert max(loads) - min(loads) <= max(weights.values())
    assert parse_shard("2/3") == Shard(2, 3)
    for bad in ("3/2", "0/2", "two/3", "1"):
        with pytest.raises(ValueError, match="--zoo-shard"):
            parse_shard(bad)


def test_within_run_ratios_pair_each_row_with_its_reference() -> None:
    from suite.history.diff import add_within_run_ratios

    rows = pd.DataFrame(
        [
            {**_latency_row("f-cpu", "pass", 2.0), "provider_label": "cpu"},
            {**_latency_row("q-cpu", "pass", 1.0, "quant_int8"), "provider_label": "cpu"},
            {**_latency_row("f-ov", "pass", 4.0), "provider_label": "openvino"},
            {**_latency_row("q-ov", "mismatch", 1.0, "quant_int8"), "provider_label": "openvino"},
            {"case_id": "o", "model": "m", "path": "ort_cpu", "status": "pass", "stage": "done"},
        ]
    )
    ratios = add_within_run_ratios(rows).set_index("case_id")
    assert ratios.loc["q-cpu", "vs_fp32"] == 2.0 and ratios.loc["f-cpu", "vs_fp32"] == 1.0
    assert ratios.loc["f-ov", "vs_cpu_provider"] == 0.5 and pd.isna(ratios.loc["f-cpu", "vs_cpu_provider"])
    assert pd.isna(ratios.loc["q-ov", "vs_fp32"]) and pd.isna(ratios.loc["o", "vs_fp32"])


def test_a_change_of_a_few_microseconds_is_below_resolution_but_a_ratio_has_no_floor() -> None:
    rules = LatencyThresholds()
    tiny = judge_change(0.0097, 0.0067, [0.01] * 5, rules, _samples(0.0097), _samples(0.0067, seed=1))
    assert tiny.verdict == LatencyVerdict.UNCHANGED and "ms resolved here" in tiny.reason
    ratio = judge_change(0.0097, 0.0067, [0.01, 0.0101, 0.0099, 0.01], rules, is_time=False)
    assert ratio.verdict == LatencyVerdict.FASTER
