"""A candidate run against a baseline: every case classified, numeric drift, latency judged honestly.

Correctness verdicts are deterministic on this stack (two runs of the same tree:
zero status or message differences over 536 cases), so a status change is news
(suite.history.case_change names it), and one cause is one line: cases that fail because their
export fails on ONNX Runtime name it as their root (suite.history.roots). Latency is not
deterministic: suite.history.latency_verdict decides what a timing change means, and
suite.history.latency_wording says what was measured and by which rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from suite.core.messages import clean_message
from suite.core.record import Status
from suite.core.rows import is_latency_path, latency_mask
from suite.history.case_change import WORKING, classify
from suite.history.gate import (
    GATES,
    NOT_JUDGED,
    called_latency,
    counts,
    gate_failures,
    inconclusive_latency,
    parse_fail_on,
)
from suite.history.latency_verdict import Judgement, LatencyThresholds, LatencyVerdict, judge_change
from suite.history.latency_wording import AB, HISTORY, latency_measured, latency_rule
from suite.history.latency_wording import finite_number as _number
from suite.history.roots import diff_order, root_cases
from suite.latency_ab.interleaved import VERDICTS as AB_VERDICTS
from suite.latency_ab.kept_artifacts import IDENTICAL

# The gate's functions live in suite.history.gate; the plugin, the history CLI and the reports
# import them from here, with the diff itself.
__all__ = [
    "DIFF_COLUMNS",
    "GATES",
    "DiffThresholds",
    "RunData",
    "add_within_run_ratios",
    "called_latency",
    "counts",
    "diff_runs",
    "error_drift",
    "gate_failures",
    "inconclusive_latency",
    "parse_fail_on",
]

# Within-run ratios that survive machine noise better than times; True where higher is better.
RATIO_METRICS = {"vs_fp32": True, "vs_cpu_provider": True, "speedup_vs_eager": True, "speedup": True}
# Ratios with a side timed once per case, not interleaved with the other (the eager baseline runs
# after the session's rounds, under whatever load the machine has then: a speedup_vs_eager of 2.99
# became 1.39e+03 so). They are reported, not judged, unless both rows say that side was timed
# interleaved with the session's rounds (the column named here; no path writes it yet).
ONE_TIMING_RATIOS = {"speedup_vs_eager": "eager_interleaved"}
NOT_JUDGED_ONE_TIMING = f"{NOT_JUDGED}one eager timing"
DEFAULT_ATOL = 1e-4


@dataclass(frozen=True)
class DiffThresholds:
    """Numeric drift: an error figure that grew `drift_factor` times and past `drift_floor` x the tolerance."""

    drift_factor: float = 10.0
    drift_floor: float = 0.1
    latency: LatencyThresholds = field(default_factory=LatencyThresholds)


@dataclass(frozen=True)
class RunData:
    """What the diff needs of a run, whether it came from a run folder or the history."""

    run_id: str
    rows: pd.DataFrame
    samples: Mapping[str, Sequence[float]] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)


def error_drift(base: Mapping[str, Any], cand: Mapping[str, Any], thresholds: DiffThresholds) -> list[str]:
    """Error figures (max_abs_err and each hop's) that grew past the drift thresholds."""
    atol = _number(cand.get("tolerance_atol")) or DEFAULT_ATOL
    floor = thresholds.drift_floor * atol
    drifted = []
    for column in sorted(k for k in cand if str(k).endswith("max_abs_err")):
        before, after = _number(base.get(column)), _number(cand.get(column))
        if after is None or before is None or after <= floor:
            continue
        if after >= thresholds.drift_factor * before:
            drifted.append(f"{column} {before:.3g} -> {after:.3g}")
    return drifted


def add_within_run_ratios(rows: pd.DataFrame) -> pd.DataFrame:
    """Ratios of two timings from the same run, on each latency row.

    vs_fp32: FP32 p50 / variant p50 (same model, package and provider);
    vs_cpu_provider: the CPU provider's p50 / this provider's (same model, variant and package).
    """
    if "path" not in rows.columns or "p50_ms" not in rows.columns:
        return rows.assign(vs_fp32=math.nan, vs_cpu_provider=math.nan)
    latency = latency_mask(rows) & (rows["status"] == Status.PASS.value)
    p50 = pd.to_numeric(rows["p50_ms"], errors="coerce").where(latency)
    variant = rows.get("variant", pd.Series("", index=rows.index))
    on_cpu = rows.get("provider_label", pd.Series("", index=rows.index)) == "cpu"
    return rows.assign(
        vs_fp32=_ratio_to(rows, p50, latency & (variant == "fp32"), ("model", "ort_package", "provider_label")),
        vs_cpu_provider=_ratio_to(rows, p50, latency & on_cpu, ("model", "ort_package", "variant")).where(~on_cpu),
    )


def _ratio_to(rows: pd.DataFrame, p50: pd.Series, reference: pd.Series, keys: Sequence[str]) -> pd.Series:
    """The reference row's p50 (same keys) over each row's p50."""
    keys = [k for k in keys if k in rows.columns]
    if len(keys) < 2:
        return pd.Series(math.nan, index=rows.index)
    references = rows[reference][keys].assign(_ref=p50[reference]).drop_duplicates(keys)
    merged = rows[keys].merge(references, on=keys, how="left")
    return pd.Series(merged["_ref"].to_numpy(), index=rows.index) / p50


def diff_runs(
    baseline: RunData,
    candidate: RunData,
    history: pd.DataFrame | None = None,
    thresholds: DiffThresholds | None = None,
) -> pd.DataFrame:
    """One row per case in either run: change, why, drift, latency and ratio verdicts.

    Args:
        history: Rows of earlier runs (run_id, case_id, status, p50_ms, ort_package and the ratio
            columns), the baseline among them and never the candidate.
    """
    thresholds = thresholds or DiffThresholds()
    base_rows = _by_case(add_within_run_ratios(baseline.rows))
    cand_rows = _by_case(add_within_run_ratios(candidate.rows))
    history = _history_with_ratios(history)
    roots = root_cases(cand_rows)
    out = []
    for case_id in sorted(set(base_rows) | set(cand_rows)):
        base, cand = base_rows.get(case_id), cand_rows.get(case_id)
        change, why = classify(base, cand)
        either = cand or base or {}
        row: dict[str, Any] = {
            "case_id": case_id,
            "model": either.get("model", ""),
            "path": either.get("path", ""),
            "change": change.value,
            "why": why,
            "root_case": roots.get(case_id, ""),
            "base_status": (base or {}).get("status", ""),
            "cand_status": (cand or {}).get("status", ""),
            "base_stage": (base or {}).get("stage", ""),
            "cand_stage": (cand or {}).get("stage", ""),
            # Cleaned once here, so every report shows the same text: no colour codes, one line.
            "base_message": clean_message((base or {}).get("message")),
            "cand_message": clean_message((cand or {}).get("message")),
        }
        row["message_changed"] = bool(base and cand and row["base_message"] != row["cand_message"])
        row["drift"] = "; ".join(error_drift(base, cand, thresholds)) if base and cand else ""
        row.update(_latency_columns(case_id, base, cand, baseline, candidate, history, thresholds))
        out.append(row)
    frame = pd.DataFrame(out, columns=DIFF_COLUMNS)
    return frame.iloc[diff_order(frame["case_id"])].reset_index(drop=True)


DIFF_COLUMNS = [
    "case_id",
    "model",
    "path",
    "change",
    "why",
    "root_case",
    "base_status",
    "cand_status",
    "base_stage",
    "cand_stage",
    "message_changed",
    "base_message",
    "cand_message",
    "drift",
    "latency_verdict",
    "base_p50_ms",
    "cand_p50_ms",
    "p50_ratio",
    "p_value",
    "detectable_change",
    "history_runs",
    "latency_method",
    "ratio_ci_low",
    "ratio_ci_high",
    "latency_measured",
    "latency_rule",
    "latency_reason",
    "ratio_verdicts",
]


def _latency_columns(
    case_id: str,
    base: Mapping[str, Any] | None,
    cand: Mapping[str, Any] | None,
    baseline: RunData,
    candidate: RunData,
    history: pd.DataFrame,
    thresholds: DiffThresholds,
) -> dict[str, Any]:
    empty: dict[str, Any] = {
        "latency_verdict": "",
        "base_p50_ms": None,
        "cand_p50_ms": None,
        "p50_ratio": None,
        "p_value": None,
        "detectable_change": None,
        "history_runs": None,
        "latency_method": "",
        "ratio_ci_low": None,
        "ratio_ci_high": None,
        "latency_measured": "",
        "latency_rule": "",
        "latency_reason": "",
        "ratio_verdicts": "",
    }
    if not base or not cand:
        return empty
    both_pass = base.get("status") in WORKING and cand.get("status") in WORKING
    mine = history[(history["case_id"] == case_id) & history["status"].isin(WORKING)] if len(history) else history
    package = cand.get("ort_package")
    if len(mine) and package:
        mine = mine[mine["ort_package"].fillna(package) == package]  # one environment's spread, not another's
    result = dict(empty)
    if is_latency_path(str(cand.get("path", ""))):
        if not both_pass:
            result["latency_verdict"] = LatencyVerdict.NOT_MEASURED.value
        else:
            judged = judge_change(
                _number(base.get("p50_ms")),
                _number(cand.get("p50_ms")),
                _numbers(mine, "p50_ms"),
                thresholds.latency,
                baseline.samples.get(case_id),
                candidate.samples.get(case_id),
            )
            result.update(_judgement_columns(judged, base, cand))
            result.update(_ab_columns(base, cand, baseline.run_id))
            ab_effect = _number(cand.get("ab_min_effect"))
            result["latency_rule"] = latency_rule(str(result["latency_method"]), thresholds.latency, ab_effect)
            result["latency_measured"] = latency_measured(result)
    if both_pass:
        result["ratio_verdicts"] = "; ".join(_ratio_verdicts(base, cand, mine, thresholds.latency))
    return result


def _judgement_columns(judged: Judgement, base: Mapping[str, Any], cand: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "latency_verdict": judged.verdict.value,
        "base_p50_ms": _number(base.get("p50_ms")),
        "cand_p50_ms": _number(cand.get("p50_ms")),
        "p50_ratio": round(judged.ratio, 4) if judged.ratio else None,
        "p_value": judged.p_value,
        "detectable_change": round(judged.detectable_change, 4) if judged.detectable_change is not None else None,
        "history_runs": judged.history_runs,
        "latency_method": HISTORY if judged.verdict != LatencyVerdict.NOT_MEASURED else "",
        "latency_reason": judged.reason,
    }


def _ab_columns(base: Mapping[str, Any], cand: Mapping[str, Any], baseline_run: str) -> dict[str, Any]:
    """The candidate run's A/B against this baseline, where it has one: it replaces the verdict from
    stored numbers (both sides timed interleaved on the same machine state); {} where it has none."""
    if cand.get("ab_baseline_run") != baseline_run:
        return {}
    verdict = str(cand.get("ab_verdict") or "")
    if verdict in AB_VERDICTS:
        ratio, low, high = (_number(cand.get(c)) for c in ("ab_ratio", "ab_ci_low", "ab_ci_high"))
        effect = _number(cand.get("ab_min_effect")) or 0.0
        return {
            "latency_verdict": verdict,
            "p50_ratio": ratio,
            "p_value": None,
            "detectable_change": effect,  # the chart's band: changes smaller than this are not called
            "latency_method": AB,
            "ratio_ci_low": low,
            "ratio_ci_high": high,
            "latency_reason": f"A/B in the candidate run, baseline's artifact timed interleaved with this one: "
            f"median ratio {ratio:.3f}, 95% interval [{low:.3f}, {high:.3f}], minimum effect {effect:.0%}",
        }
    same_runtime = base.get("ort_version") and base.get("ort_version") == cand.get("ort_version")
    if verdict == IDENTICAL and same_runtime and base.get("ort_package") == cand.get("ort_package"):
        return {
            "latency_verdict": LatencyVerdict.UNCHANGED.value,
            "latency_method": IDENTICAL,
            "latency_reason": "identical artifact on the same onnxruntime: stored numbers differ by the machine alone",
        }
    return {}


def _ratio_verdicts(
    base: Mapping[str, Any], cand: Mapping[str, Any], history: pd.DataFrame, thresholds: LatencyThresholds
) -> list[str]:
    """Within-run ratios that moved beyond noise (history-judged; ratios have no per-round samples).

    A ratio with a side timed once (ONE_TIMING_RATIOS) that would have been called or
    inconclusive is listed as not judged: the change is shown, it makes no verdict.
    """
    said = []
    for metric, higher_is_better in RATIO_METRICS.items():
        before, after = _number(base.get(metric)), _number(cand.get(metric))
        if before is None or after is None:
            continue
        judged = judge_change(
            before, after, _numbers(history, metric), thresholds, higher_is_worse=not higher_is_better, is_time=False
        )
        if judged.verdict not in (LatencyVerdict.SLOWER, LatencyVerdict.FASTER, LatencyVerdict.INCONCLUSIVE):
            continue
        rigour = ONE_TIMING_RATIOS.get(metric)
        if rigour and not (_truthy(base.get(rigour)) and _truthy(cand.get(rigour))):
            said.append(f"{metric} {before:.3g} -> {after:.3g}: {NOT_JUDGED_ONE_TIMING}")
            continue
        label = {"slower": "worse", "faster": "better"}.get(judged.verdict.value, judged.verdict.value)
        said.append(f"{metric} {before:.3g} -> {after:.3g}: {label}")
    return said


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "1.0", "yes")


def _history_with_ratios(history: pd.DataFrame | None) -> pd.DataFrame:
    columns = ["run_id", "case_id", "status", "p50_ms", "ort_package", *RATIO_METRICS]
    if history is None or history.empty:
        return pd.DataFrame(columns=columns)
    history = history.copy()
    for column in columns:
        if column not in history.columns:
            history[column] = None
    return history


def _by_case(rows: pd.DataFrame) -> dict[str, dict[str, Any]]:
    if rows.empty:
        return {}
    records = rows.astype(object).where(rows.notna(), None).to_dict("records")
    return {str(r["case_id"]): r for r in records}


def _numbers(frame: pd.DataFrame, column: str) -> list[float]:
    if frame is None or column not in frame.columns:
        return []
    return [n for n in (_number(v) for v in frame[column]) if n is not None]
