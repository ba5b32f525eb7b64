"""A candidate run against a baseline: every case classified, numeric drift, latency judged honestly.

Correctness verdicts are deterministic on this stack (two runs of the same tree:
zero status or message differences over 536 cases), so a status change is news
(suite.history.case_change names it). Latency is not: suite.history.latency_verdict
decides what a timing change means.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from suite.core.record import Status
from suite.core.rows import is_latency_path, latency_mask
from suite.history.case_change import WORKING, Change, classify
from suite.history.latency_verdict import Judgement, LatencyThresholds, LatencyVerdict, judge_change
from suite.latency_ab.interleaved import VERDICTS as AB_VERDICTS
from suite.latency_ab.kept_artifacts import IDENTICAL

# Within-run ratios that survive machine noise better than times; True where higher is better.
RATIO_METRICS = {"vs_fp32": True, "vs_cpu_provider": True, "speedup_vs_eager": True, "speedup": True}
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
            "base_status": (base or {}).get("status", ""),
            "cand_status": (cand or {}).get("status", ""),
            "base_stage": (base or {}).get("stage", ""),
            "cand_stage": (cand or {}).get("stage", ""),
            "base_message": (base or {}).get("message", "") or "",
            "cand_message": (cand or {}).get("message", "") or "",
        }
        row["message_changed"] = bool(base and cand and row["base_message"] != row["cand_message"])
        row["drift"] = "; ".join(error_drift(base, cand, thresholds)) if base and cand else ""
        row.update(_latency_columns(case_id, base, cand, baseline, candidate, history, thresholds))
        out.append(row)
    return pd.DataFrame(out, columns=DIFF_COLUMNS)


DIFF_COLUMNS = [
    "case_id",
    "model",
    "path",
    "change",
    "why",
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
            "latency_reason": f"A/B in the candidate run, baseline's artifact timed interleaved with this one: "
            f"median ratio {ratio:.3f}, 95% interval [{low:.3f}, {high:.3f}], minimum effect {effect:.0%}",
        }
    same_runtime = base.get("ort_version") and base.get("ort_version") == cand.get("ort_version")
    if verdict == IDENTICAL and same_runtime and base.get("ort_package") == cand.get("ort_package"):
        return {
            "latency_verdict": LatencyVerdict.UNCHANGED.value,
            "latency_reason": "identical artifact on the same onnxruntime: stored numbers differ by the machine alone",
        }
    return {}


def _ratio_verdicts(
    base: Mapping[str, Any], cand: Mapping[str, Any], history: pd.DataFrame, thresholds: LatencyThresholds
) -> list[str]:
    """Within-run ratios that moved beyond noise (history-judged; ratios have no per-round samples)."""
    said = []
    for metric, higher_is_better in RATIO_METRICS.items():
        before, after = _number(base.get(metric)), _number(cand.get(metric))
        if before is None or after is None:
            continue
        judged = judge_change(
            before, after, _numbers(history, metric), thresholds, higher_is_worse=not higher_is_better, is_time=False
        )
        if judged.verdict in (LatencyVerdict.SLOWER, LatencyVerdict.FASTER, LatencyVerdict.INCONCLUSIVE):
            label = {"slower": "worse", "faster": "better"}.get(judged.verdict.value, judged.verdict.value)
            said.append(f"{metric} {before:.3g} -> {after:.3g}: {label}")
    return said


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


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _numbers(frame: pd.DataFrame, column: str) -> list[float]:
    if frame is None or column not in frame.columns:
        return []
    return [n for n in (_number(v) for v in frame[column]) if n is not None]


def counts(diff: pd.DataFrame) -> dict[str, int]:
    """Cases per change, in a fixed order, plus the latency verdicts that were called."""
    result = {change.value: int((diff["change"] == change.value).sum()) for change in Change}
    result["drifted"] = int((diff["drift"].astype(str) != "").sum())
    for verdict in (LatencyVerdict.SLOWER, LatencyVerdict.FASTER, LatencyVerdict.INCONCLUSIVE):
        result[f"latency_{verdict.value}"] = int((diff["latency_verdict"] == verdict.value).sum())
    result["ratio_worse"] = int(diff["ratio_verdicts"].astype(str).str.contains(": worse").sum())
    return result


def called_latency(diff: pd.DataFrame) -> pd.DataFrame:
    """Cases whose p50 or a within-run ratio was called slower/faster (worse/better): beyond noise."""
    ratios = diff["ratio_verdicts"].astype(str)
    called = ratios.str.contains(": worse") | ratios.str.contains(": better")
    return diff[diff["latency_verdict"].isin(["slower", "faster"]) | called]


def inconclusive_latency(diff: pd.DataFrame) -> pd.DataFrame:
    """Cases with a large, significant timing change that the history is too short to judge."""
    ratios = diff["ratio_verdicts"].astype(str).str.contains(": inconclusive")
    return diff[(diff["latency_verdict"] == "inconclusive") | ratios]


GATES = ("correctness", "drift", "latency")


def gate_failures(diff: pd.DataFrame, fail_on: Sequence[str]) -> list[str]:
    """Why the gate fails (empty when it passes): regressions, drift or latency, as configured."""
    found = counts(diff)
    reasons = []
    if "correctness" in fail_on and found["regressed"]:
        reasons.append(f"{found['regressed']} regressed")
    if "drift" in fail_on and found["drifted"]:
        reasons.append(f"{found['drifted']} with numeric drift")
    if "latency" in fail_on and (found["latency_slower"] or found["ratio_worse"]):
        reasons.append(f"{found['latency_slower']} slower, {found['ratio_worse']} with a worse within-run ratio")
    return reasons


def parse_fail_on(value: str) -> tuple[str, ...]:
    """ "correctness" (default), "correctness,latency", "all" or "none"."""
    if value.strip() == "none":
        return ()
    if value.strip() == "all":
        return GATES
    chosen = tuple(v.strip() for v in value.split(",") if v.strip())
    unknown = [v for v in chosen if v not in GATES]
    if unknown:
        raise ValueError(f"--fail-on takes {', '.join(GATES)}, 'all' or 'none', got {unknown[0]!r}")
    return chosen
