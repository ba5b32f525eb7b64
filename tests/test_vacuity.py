"""A pass on nothing is not a pass: empty, constant or input-independent outputs make a skip "not judged"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from suite.judge.compare import compare_outputs
from suite.judge.floor import QUANTIZED_FACTOR, Bound, quantized_bounds
from suite.judge.vacuity import Draw, not_judged_reason
from suite.report.families import family_counts, render_family_counts
from zoo.spec import Tolerance

ROOT = Path(__file__).resolve().parent.parent
VACUOUS = ROOT / "tests" / "vacuous_models.py"
RNG = np.random.default_rng(0)
X1, X2 = {"x": RNG.standard_normal((2, 3))}, {"x": RNG.standard_normal((2, 3))}


def test_every_output_empty_is_zero_elements_compared() -> None:
    empty = [np.zeros((0, 4), np.float32), np.zeros((0,), np.int64)]
    reason = not_judged_reason(["boxes", "labels"], [Draw(X1, empty), Draw(X2, empty)])
    assert reason is not None and reason.startswith("compared 0 elements")
    assert "boxes empty (0, 4)" in reason and "labels empty (0,)" in reason


def test_constant_and_input_independent_outputs_are_not_judged() -> None:
    constant = [np.full((2, 5), 0.5, np.float32)]
    assert "constant (every element 0.5)" in (not_judged_reason(["y"], [Draw(X1, constant), Draw(X2, constant)]) or "")
    fixed = [np.arange(10, dtype=np.float32)]  # varies within, but the same for different inputs
    reason = not_judged_reason(["y"], [Draw(X1, fixed), Draw(X2, fixed)])
    assert reason is not None and "the same on two input draws that differ" in reason


def test_a_bound_that_covers_the_whole_range_judges_nothing() -> None:
    y1, y2 = RNG.standard_normal((2, 50)), RNG.standard_normal((2, 50))
    spread = float(max(np.ptp(y1), np.ptp(y2)))
    wide, tight = Bound.quantized_floor(spread / 4), Bound.quantized_floor(spread / 400)  # atol: spread, spread/100
    reason = not_judged_reason(["logits"], [Draw(X1, [y1], [wide]), Draw(X2, [y2], [wide])])
    assert reason is not None and "covers its whole range: a constant would pass" in reason
    assert not_judged_reason(["logits"], [Draw(X1, [y1], [tight]), Draw(X2, [y2], [tight])]) is None


def test_quantized_bounds_are_a_multiple_of_each_outputs_floor() -> None:
    bounds, rule = quantized_bounds([0.5, 0.0], Tolerance(atol=1e-4, rtol=1e-3), "no float64 run")
    assert bounds[0].atol == QUANTIZED_FACTOR * 0.5 and bounds[0].quantized and bounds[0].floor == 0.5
    assert bounds[1].atol == 1e-4 and not bounds[1].quantized  # an integer output: the static rule (exact anyway)
    assert rule.startswith("calibrated from quantization") and "no float64 run" in rule
    assert quantized_bounds(None, Tolerance(), "x") is None


def test_informative_outputs_are_judged() -> None:
    varying = [RNG.standard_normal((2, 5)), RNG.standard_normal((2, 5))]
    assert not_judged_reason(["y"], [Draw(X1, [varying[0]]), Draw(X2, [varying[1]])]) is None
    # One informative output is enough.
    constant = np.full((2, 5), 0.5)
    assert not_judged_reason(["c", "y"], [Draw(X1, [constant, varying[0]]), Draw(X2, [constant, varying[1]])]) is None
    # Labels that agree on two draws are a real (exact) check, not a degenerate one.
    labels = [np.array([3, 3])]
    assert not_judged_reason(["labels"], [Draw(X1, labels), Draw(X2, labels)]) is None
    # The same draw twice (a file with one stored data set) says nothing about input dependence.
    fixed = [np.arange(10, dtype=np.float32)]
    assert not_judged_reason(["y"], [Draw(X1, fixed), Draw(X1, fixed)]) is None
    # A scalar output is not "constant" for having one element.
    assert not_judged_reason(["loss"], [Draw(X1, [np.array(1.5)]), Draw(X2, [np.array(2.5)])]) is None


def test_comparisons_count_the_elements_they_compared() -> None:
    ref = [np.ones((3, 4), np.float32), np.zeros((0, 4), np.float32), [np.ones(2), np.ones(5)]]
    comparison = compare_outputs(
        ref, ref, expected_names=["a", "b", "seq"], candidate_names=["a", "b", "seq"], tolerance=Tolerance()
    )
    assert comparison.ok and comparison.compared == {"a": 12, "b": 0, "seq": 7}
    wrong_shape = compare_outputs(
        [np.ones((3, 4))], [np.ones((4, 3))], expected_names=["a"], candidate_names=["a"], tolerance=Tolerance()
    )
    assert wrong_shape.compared == {"a": 0}


def test_the_families_table_counts_not_judged_apart() -> None:
    frame = pd.DataFrame(
        [
            {"case_id": "a", "model": "m1", "family": "f", "status": "pass", "message": ""},
            {"case_id": "b", "model": "m2", "family": "f", "status": "skip", "message": "not judged: empty"},
            {"case_id": "c", "model": "m3", "family": "f", "status": "skip", "message": "excluded by the size cap"},
            {"case_id": "d", "model": "m4", "family": "g", "status": "mismatch", "message": "x"},
        ]
    )
    table = family_counts(frame).set_index("family")
    assert table.loc["f", ["pass", "skip", "not judged", "pass_rate"]].tolist() == [1, 1, 1, 1.0]
    assert "<th" in render_family_counts(frame) and ">not judged</th>" in render_family_counts(frame)


@pytest.mark.slow
def test_a_run_of_vacuous_models_skips_them_and_says_why(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", str(ROOT / "suite" / "matrix" / "test_ort.py"), "--rootdir", str(ROOT),
            "-p", "no:cacheprovider", "-q", f"--zoo-module={VACUOUS}", "--zoo-models=vacuous_*,quantized_tiny",
            "--zoo-exporters=torchscript", "--zoo-opsets=17", f"--zoo-report-dir={tmp_path}",
            f"--zoo-cache-dir={tmp_path / 'cache'}", "--zoo-history=none",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    rows = pd.read_csv(tmp_path / "latest" / "results.csv").set_index("model")
    empty, constant, mixed = (rows.loc[m] for m in ("vacuous_empty", "vacuous_constant", "vacuous_mixed"))
    assert empty["status"] == "skip" and empty["message"].startswith("not judged: compared 0 elements")
    assert empty["compared_elements"] == 0
    assert constant["status"] == "skip" and "constant (every element 0.25)" in constant["message"]
    assert constant["compared_elements"] > 0
    assert mixed["status"] == "pass" and mixed["compared_elements"] > 0
    quantized = rows.loc["quantized_tiny"]
    assert quantized["status"] == "pass", quantized["message"]
    assert quantized["tolerance_rule"].startswith("calibrated from quantization (4x the output's change")
    floor = quantized["fp32_floor"]
    assert floor > 0 and quantized["tolerance_atol"] == pytest.approx(4 * floor, 1e-3)


def test_a_files_constant_expected_output_is_its_answer() -> None:
    minus_inf = [np.full((1, 3), -np.inf, np.float32)]  # ReduceMax over an empty axis
    assert not_judged_reason(["y"], [Draw(X1, minus_inf), Draw(X2, minus_inf)], eager=False) is None
    empty = [np.zeros((0, 3), np.float32)]
    assert not_judged_reason(["y"], [Draw(X1, empty), Draw(X2, empty)], eager=False) is not None
