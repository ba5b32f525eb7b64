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


def test_strings_compare_exactly_and_name_the_first_difference() -> None:
    ref = np.array(["abc", "def", "ghi"], dtype=object)
    assert compare_array("label", ref, ref.copy(), TOL).ok
    result = _compare([ref], [np.array(["abc", "deX", "ghi"], dtype=object)], names=("label",))
    assert not result.ok and result.outputs[0].max_abs_err is None
    assert result.message == (
        "output 'label': 1 of 3 elements differ (exact comparison for strings): first at [1]: expected 'def', got 'deX'"
    )
    # Stored tensors may hold bytes, ORT gives str; a fixed-width str array is the same text too.
    assert compare_array("label", np.array([b"abc", b"def", b"ghi"], dtype=object), ref, TOL).ok
    assert compare_array("label", np.array(["abc", "def", "ghi"]), ref, TOL).ok


def test_integers_and_bools_compare_exactly_whatever_the_tolerance() -> None:
    labels = np.array([[5000, 7], [3, 0]], np.int64)
    loose = Tolerance(atol=0.5, rtol=1e-3)  # would let 5000 vs 5004 pass
    off = labels.copy()
    off[0, 0] += 4
    result = compare_array("l", labels, off, loose)
    assert not result.ok and result.max_abs_err == 4.0 and result.mismatch_frac == 0.25
    assert "first at [0, 0]: expected 5000, got 5004" in result.problem
    flags = np.array([True, False])
    assert compare_array("f", flags, flags.copy(), loose).ok
    assert "expected False, got True" in compare_array("f", flags, np.array([True, True]), loose).problem


def test_complex_outputs_compare_the_imaginary_part_too() -> None:
    ref = np.array([1 + 1j, 2 - 1j], np.complex64)
    assert compare_array("z", ref, ref + np.complex64(1e-5j), TOL).ok
    result = compare_array("z", ref, ref + np.complex64(0.5j), TOL)
    assert not result.ok and result.max_abs_err == pytest.approx(0.5)


def test_zipmap_outputs_compare_as_lists_of_dicts_with_a_path_to_the_difference() -> None:
    probs = [{"setosa": 0.9, "versicolor": 0.1}, {"setosa": 0.2, "versicolor": 0.8}]
    labels = np.array(["setosa", "versicolor"], dtype=object)
    names = ("label", "probs")
    assert _compare([labels, probs], [labels.copy(), [dict(p) for p in probs]], names=names).ok
    off = [dict(p) for p in probs]
    off[1]["setosa"] = 0.25
    result = _compare([labels, probs], [labels, off], names=names)
    assert not result.ok and result.message.startswith("output 'probs'[1]['setosa']: 100.00% of 1 elements")
    assert result.outputs[1].mismatch_frac == pytest.approx(0.25)  # 1 of the 4 probabilities
    assert result.worst("max_abs_err") == pytest.approx(0.05)  # the labels' None is left out
    renamed = [dict(p) for p in probs]
    renamed[0]["Setosa"] = renamed[0].pop("setosa")
    message = _compare([probs], [renamed], names=("probs",)).message
    assert message == "output 'probs'[0]: map keys differ: missing ['setosa'], unexpected ['Setosa']"
    assert "sequence length differs: expected 2, got 1" in _compare([probs], [probs[:1]], names=("probs",)).message


def test_stored_map_keys_and_wrapped_values_line_up_with_ort_ones() -> None:
    # A stored map keeps string keys as bytes and values as numpy scalars; np.asarray wraps a list of dicts.
    stored = [{b"a": np.float32(0.5), b"b": np.float32(0.5)}]
    ort = np.asarray([{"a": 0.5, "b": 0.5}])
    assert _compare([stored], [ort], names=("m",)).ok
    assert not _compare([stored], [[{"a": 0.5, "b": 0.75}]], names=("m",)).ok


def test_sequences_of_tensors_and_optionals() -> None:
    seq = [np.zeros((2, 3), np.float32), np.ones((1, 3), np.float32)]
    assert _compare([seq], [[a.copy() for a in seq]], names=("s",)).ok
    result = _compare([seq], [[seq[0], np.ones((2, 3), np.float32)]], names=("s",))
    assert result.message == "output 's'[1]: shape differs: expected (1, 3), got (2, 3)"
    assert _compare([None], [None], names=("o",)).ok
    assert _compare([None], [np.asarray(None)], names=("o",)).ok  # np.asarray over an empty optional
    assert _compare([None], [seq[0]], names=("o",)).message == (
        "output 'o': expected an empty optional, got a float32 tensor of shape (2, 3)"
    )
    assert "expected a sequence of 2, got a float32 tensor" in _compare([seq], [seq[0]], names=("s",)).message


def test_worst_leaves_out_nan_whatever_the_order() -> None:
    good, broken = np.ones(2, np.float32), np.ones(3, np.float32)
    for order in ((good, broken), (broken, good)):
        result = _compare(
            [np.ones(2, np.float32), np.ones(2, np.float32)], [o + np.float32(0.5) for o in order], names=("a", "b")
        )
        assert result.worst("max_abs_err") == pytest.approx(0.5)
