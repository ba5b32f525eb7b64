import numpy as np
import pytest

from suite.judge.compare import compare_array, compare_outputs, top1_agreement
from zoo import Task, Tolerance

TOL = Tolerance(atol=1e-4, rtol=1e-3)


def _compare(ref, cand, names=("y",), cand_names=None, task=None):
    return compare_outputs(
        ref, cand, expected_names=names, candidate_names=cand_names or names, tolerance=TOL, task=task
    )


def test_equal_outputs_pass_with_zero_error() -> None:
    ref = np.random.default_rng(0).standard_normal((2, 5)).astype(np.float32)
    result = _compare([ref], [ref.copy()])
    assert result.ok and result.message == ""
    assert result.outputs[0].max_abs_err == 0.0 and result.outputs[0].mismatch_frac == 0.0


def test_tolerance_boundary() -> None:
    ref = np.ones((4,), np.float32)
    inside = ref + np.float32(1e-4 + 1e-3 * 0.9)
    outside = ref.copy()
    outside[1] += 0.01
    assert compare_array("y", ref, inside, TOL).ok
    result = compare_array("y", ref, outside, TOL)
    assert not result.ok
    assert result.mismatch_frac == pytest.approx(0.25)
    assert result.max_abs_err == pytest.approx(0.01, rel=1e-3)
    assert "25.00% of 4 elements" in result.problem


def test_nan_in_candidate_never_passes() -> None:
    ref = np.zeros((3,), np.float32)
    cand = np.array([0, np.nan, 0], np.float32)
    result = compare_array("y", ref, cand, Tolerance(atol=1e9, rtol=1e9))
    assert not result.ok
    assert "non-finite" in result.problem and "candidate" in result.problem


def test_inf_in_candidate_fails() -> None:
    result = compare_array("y", np.zeros(2, np.float32), np.array([0, np.inf], np.float32), TOL)
    assert not result.ok


def test_nan_in_reference_fails_even_when_candidate_matches() -> None:
    ref = np.array([1.0, np.nan], np.float32)
    result = compare_array("y", ref, ref.copy(), TOL)
    assert not result.ok
    assert "reference has 1 non-finite" in result.problem


def test_shape_and_dtype_mismatches() -> None:
    ref = np.zeros((2, 3), np.float32)
    assert "shape differs" in compare_array("y", ref, np.zeros((3, 2), np.float32), TOL).problem
    assert "dtype differs" in compare_array("y", ref, np.zeros((2, 3), np.float64), TOL).problem


def test_output_count_and_names() -> None:
    ref = [np.zeros(2, np.float32)]
    assert "output count differs" in _compare(ref, ref * 2, cand_names=("y", "z")).message
    assert "output names differ" in _compare(ref, ref, names=("y",), cand_names=("logits",)).message


def test_relative_error_ignores_near_zero_reference() -> None:
    ref = np.array([0.0, 10.0], np.float32)
    cand = np.array([1e-6, 10.001], np.float32)
    result = compare_array("y", ref, cand, TOL)
    assert result.ok
    assert result.max_rel_err == pytest.approx(1e-4, rel=1e-2)


def test_top1_agreement_for_classifiers() -> None:
    ref = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]], np.float32)
    cand = np.array([[0.2, 0.8], [0.1, 0.9], [0.3, 0.7]], np.float32)
    assert top1_agreement(ref, cand) == pytest.approx(2 / 3)
    assert _compare([ref], [ref], task=Task.CLASSIFICATION).top1_agreement == 1.0
    assert _compare([ref], [ref], task=Task.REGRESSION).top1_agreement is None
