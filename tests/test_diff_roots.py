"""The diff on hand-built runs: one cause shown once, removed cases gated, latency lines that say what they measured."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pandas as pd

from suite.core.messages import clean_message, readable_message
from suite.history.diff import RunData, counts, diff_runs, gate_failures, parse_fail_on
from suite.report.diff import render_diff_section, render_markdown, write_diff

EXPORT = "m-torchscript-op17-dynamic"
ROOT = f"{EXPORT}-ort_cpu"
VARIANTS = ("fp32", "opt_ort_extended", "quant_int8_dynamic", "quant_int8_static_minmax", "quant_fp16")
DERIVED = [f"{EXPORT}-lat.{v}.cpu" for v in VARIANTS] + [f"{EXPORT}-version"]
BAKED = (
    "dynamic axes not dynamic: ort failed at batch=3: [ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Non-zero status "
    "code returned while running Gemm node. Name:'/fc/Gemm' Status Message: GEMM: Dimension mismatch, W: {512,512} "
    "K: 768 N:512; a size is baked into the graph (it fails or gives wrong shapes there)"
)
GEMM = (
    "\x1b[1;31msession.run failed on CPUExecutionProvider: [ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Non-zero "
    "status code returned while running Gemm node. Name:'/fc/Gemm' Status Message: GEMM: Dimension mismatch, "
    "W: {512,512} K: 256 N:512\x1b[m"
)


def _row(case_id: str, status: str = "pass", stage: str = "done", message: str = "", **extra: object) -> dict:
    model, exporter, opset, shape, label = case_id.rsplit("-", 4)
    path = "latency" if label.startswith("lat.") else {"ort_cpu": "ort"}.get(label, label)
    return {
        "case_id": case_id, "model": model, "exporter": exporter, "opset": int(opset[2:]), "shape": shape,
        "path": path, "provider_label": "cpu", "status": status, "stage": stage, "message": message, **extra,
    }  # fmt: skip


def _broken_export_runs() -> tuple[RunData, RunData]:
    """One export whose ort case, five latency cases and version case pass, then all fail; beside it
    an export that passes in both, whose id sorts between the broken export's cases."""
    fine = ["a-torchscript-op17-static-ort_cpu", "z-torchscript-op17-static-ort_cpu"]
    base = [_row(c) for c in [ROOT, *DERIVED, *fine]]
    cand = [
        _row(ROOT, "mismatch", "dynamic_sizes", BAKED),
        *(_row(c, "runtime_error", "first_run", GEMM) for c in DERIVED[:-1]),
        _row(DERIVED[-1], "mismatch", "version_op13", "version_op13 matches eager at batch=2 but not at batch=3"),
        *(_row(c) for c in fine),
    ]
    return RunData("base", pd.DataFrame(base)), RunData("cand", pd.DataFrame(cand))


def test_cases_of_an_export_that_fails_on_ort_are_one_cause_under_their_root(tmp_path: Path) -> None:
    base, cand = _broken_export_runs()
    diff = diff_runs(base, cand)
    broken = diff[diff["case_id"].str.startswith(EXPORT)]
    assert broken["case_id"].iloc[0] == ROOT  # the explaining row first, though "lat." sorts before "ort"
    assert broken["root_case"].iloc[0] == "" and (broken["root_case"].iloc[1:] == ROOT).all()
    assert sorted(broken["case_id"].iloc[1:]) == sorted(DERIVED)
    assert list(diff["case_id"].iloc[[0, -1]]) == [
        "a-torchscript-op17-static-ort_cpu",
        "z-torchscript-op17-static-ort_cpu",
    ]
    assert (diff.loc[~diff["case_id"].str.startswith(EXPORT), "root_case"] == "").all()

    found = counts(diff)
    assert (found["regressed"], found["regressed_causes"], found["compared"]) == (7, 1, 9)
    gate = gate_failures(diff, ("correctness",))
    assert gate == ["7 regressed (1 cause)"]  # every regressed case still counted

    paths = write_diff(tmp_path, diff, base, cand, gate)
    summary = paths["markdown"].read_text()
    assert "**FAIL**: 7 regressed (1 cause)" in summary and "### Regressed (7 cases, 1 cause)" in summary
    assert f"`{ROOT}` (7 cases, 1 cause)" in summary
    assert "a size is baked into the graph (it fails or gives wrong shapes there)" in summary
    # The root once, its six derived cases on one line under it, never as lines of their own.
    regressed_lines = [ln for ln in summary.splitlines() if ln.startswith("| `") or ln.startswith("| ↳")]
    assert len(regressed_lines) == 2 and regressed_lines[0].startswith(f"| `{ROOT}`")
    assert regressed_lines[1].startswith("| ↳ 6 fail as their export fails on ONNX Runtime")
    assert all(f"`{c}`" in regressed_lines[1] for c in DERIVED)
    for text in (summary, paths["csv"].read_text(), paths["html"].read_text()):
        assert "\x1b[" not in text
    written = pd.read_csv(paths["csv"]).set_index("case_id")
    assert written.loc[ROOT, "cand_message"] == BAKED  # the full text, uncut
    assert written.loc[DERIVED[0], "root_case"] == ROOT
    assert written.loc[DERIVED[0], "cand_message"].startswith("session.run failed on CPUExecutionProvider")
    page = render_diff_section(diff, base, cand, gate)
    assert f"{ROOT} (7 cases, 1 cause)" in page and "7 regressed (1 cause)" in page and "↳ 6 derived" in page


def test_a_failing_case_is_derived_only_where_its_exports_ort_case_fails() -> None:
    base, cand = _broken_export_runs()
    ort_passes = cand.rows.copy()
    ort_passes.loc[ort_passes["case_id"] == ROOT, ["status", "stage", "message"]] = ["pass", "done", ""]
    diff = diff_runs(base, RunData("cand", ort_passes))
    assert (diff["root_case"] == "").all()
    assert counts(diff)["regressed_causes"] == counts(diff)["regressed"] == 6
    assert gate_failures(diff, ("correctness",)) == ["6 regressed"]
    # A root that was failing already still explains the cases that are new failures.
    already = base.rows.copy()
    already.loc[already["case_id"] == ROOT, ["status", "stage", "message"]] = ["mismatch", "dynamic_sizes", BAKED]
    diff = diff_runs(RunData("base", already), cand)
    found = counts(diff)
    assert (found["regressed"], found["regressed_causes"], found["still_failing"]) == (6, 1, 1)
    text = render_markdown(diff, base, cand, gate_failures(diff, ("correctness",)))
    assert "the root was failing already (still_failing)" in text


def test_messages_lose_colour_codes_and_keep_their_cause_when_cut() -> None:
    assert clean_message(GEMM).startswith("session.run failed") and "\x1b" not in clean_message(GEMM)
    traceback = 'Traceback (most recent call last):\n  File "x.py", line 3, in f\n    g()\n    ^^^\nValueError: bad\n'
    assert clean_message(traceback) == "ValueError: bad"
    assert clean_message("\n\nort failed:\n  boom\nmore") == "ort failed: boom"
    assert clean_message(math.nan) == "" and clean_message(None) == ""
    short = readable_message(BAKED)
    assert len(short) <= 205 and short.endswith(
        "; a size is baked into the graph (it fails or gives wrong shapes there)"
    )
    assert short.startswith("dynamic axes not dynamic: ort failed at batch=3: ONNX Runtime INVALID_ARGUMENT in Gemm")
    assert readable_message("word " * 60).endswith("word...") and len(readable_message("word " * 60)) <= 200
    assert readable_message("short; message") == "short; message"


def test_removed_cases_are_counted_and_gated_only_when_asked() -> None:
    ids = [f"m{i}-torchscript-op17-static-ort_cpu" for i in range(5)]
    base = RunData("base", pd.DataFrame([_row(c) for c in ids]))
    cand = RunData("cand", pd.DataFrame([_row(c) for c in ids[:3]]))
    diff = diff_runs(base, cand)
    found = counts(diff)
    assert (found["removed"], found["compared"], found["unchanged"]) == (2, 3, 3)
    assert gate_failures(diff, ("correctness",)) == []
    assert gate_failures(diff, ("removed",)) == ["2 removed"]
    assert "removed" in parse_fail_on("all") and parse_fail_on("correctness,removed") == ("correctness", "removed")
    assert gate_failures(diff, parse_fail_on("all")) == ["2 removed"]
    text = render_markdown(diff, base, cand, ["2 removed"])
    header, _, values = text.split("\n\n", 3)[2].splitlines()
    table = dict(zip(header.strip("|").split("|"), values.strip("|").split("|"), strict=True))
    assert table[" compared "] == " 3 " and table[" removed "] == " 2 "
    assert "**FAIL**: 2 removed" in text and "### Removed cases (2)" in text


def _samples(centre: float, seed: int) -> list[float]:
    draw = random.Random(seed)
    return [centre * math.exp(draw.gauss(0, 0.05)) for _ in range(200)]


def _lat(case: str, p50: float, **extra: object) -> dict:
    """A passing latency row, its model named after the case so no within-run ratio pairs two cases."""
    return {
        **_row(f"{case}-torchscript-op17-static-lat.fp32.cpu", p50_ms=p50, variant="fp32"),
        "ort_package": "ort",
        **extra,
    }


def test_latency_lines_say_what_was_measured_and_by_which_rule() -> None:
    ab = {"ab_baseline_run": "base", "ab_verdict": "slower", "ab_ratio": 1.63, "ab_ci_low": 1.55, "ab_ci_high": 1.7}
    base_rows = [_lat("ab", 0.02402), _lat("hist", 1.0), _lat("eager", 1.0, speedup_vs_eager=2.99),
                 _lat("new", 1.0), _lat("ratio", 1.0, speedup=1.0)]  # fmt: skip
    cand_rows = [_lat("ab", 0.03926, **ab, ab_min_effect=0.05), _lat("hist", 3.0),
                 _lat("eager", 1.0, speedup_vs_eager=1390.0), _lat("new", 3.0),
                 _lat("ratio", 1.0, speedup=3.0)]  # fmt: skip
    ids = {r["model"]: r["case_id"] for r in base_rows}
    history = pd.DataFrame(
        [{**_lat("hist", p50), "run_id": f"r{i}"} for i, p50 in enumerate((1.0, 1.02, 0.99))]
        + [{**_lat("eager", 1.0, speedup_vs_eager=s), "run_id": f"r{i}"} for i, s in enumerate((2.99, 3.0, 2.98))]
    )
    base = RunData("base", pd.DataFrame(base_rows), {ids["hist"]: _samples(1.0, 0), ids["new"]: _samples(1.0, 2)})
    cand = RunData("cand", pd.DataFrame(cand_rows), {ids["hist"]: _samples(3.0, 1), ids["new"]: _samples(3.0, 3)})
    diff = diff_runs(base, cand, history).set_index("case_id")

    assert diff.loc[ids["ab"], "latency_method"] == "ab" and diff.loc[ids["hist"], "latency_method"] == "history"
    assert diff.loc[ids["ab"], "latency_measured"].startswith(
        "A/B median ratio 1.630, 95% interval [1.550, 1.700], timed interleaved in the candidate run; "
        "stored p50 0.02402 -> 0.03926 ms (not judged)"
    )
    assert "excludes 1" in diff.loc[ids["ab"], "latency_rule"] and "1.05" in diff.loc[ids["ab"], "latency_rule"]
    measured = diff.loc[ids["hist"], "latency_measured"]
    assert measured.startswith("stored p50 1 -> 3 ms (+200%), Mann-Whitney p=") and "over 3 earlier runs" in measured
    assert "Mann-Whitney p < 0.001" in diff.loc[ids["hist"], "latency_rule"]
    # One eager timing: the change is shown, not judged, and counts as neither better nor worse.
    assert diff.loc[ids["eager"], "ratio_verdicts"] == "speedup_vs_eager 2.99 -> 1.39e+03: not judged: one eager timing"
    assert diff.loc[ids["ratio"], "ratio_verdicts"] == "speedup 1 -> 3: inconclusive"
    found = counts(diff.reset_index())
    assert (found["latency_slower"], found["ratio_better"], found["ratio_not_judged"]) == (2, 0, 1)
    assert found["latency_inconclusive"] == 2  # "new" (its p50, no history) and "ratio" (its speedup)

    text = render_markdown(diff.reset_index(), base, cand, [])
    header, _, values = text.split("\n\n", 3)[2].splitlines()
    table = dict(zip(header.strip("|").split("|"), values.strip("|").split("|"), strict=True))
    assert table[" latency inconclusive "] == " 2 " and table[" latency slower "] == " 2 "
    assert "2 cases have timing changes (p50 or a within-run ratio) that are inconclusive" in text
    assert "### Latency (5 timed cases: 2 slower, 0 faster, 2 inconclusive;" in text
    assert f"| `{ids['ab']}` | slower | A/B median ratio 1.630, 95% interval [1.550, 1.700]" in text
    assert "| A/B band |" in text and "| history (Mann-Whitney + prediction interval) |" in text
    assert "- **A/B band**: slower or faster when the 95% interval excludes 1" in text
    assert "1 case has a `speedup_vs_eager` that moved but is not judged" in text
    assert "change +2%" not in text and ids["eager"] not in text.split("Rules:")[0]
