"""An ONNX file's expected outputs (stored, or ONNX Runtime CPU's): NaN/Inf in them are its answer,
each output is judged at its own dtype's precision, exact dtypes exactly, and the row says so."""

from pathlib import Path
from types import SimpleNamespace

import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from suite.core.record import Status
from suite.judge.compare import compare_array, compare_outputs
from suite.judge.floor import EXACT, FILE_RULE, Bound, ReferenceKind, file_bound, file_bounds
from suite.judge.hops import HopResult, ReferenceAt, judge_sizes
from suite.judge.inputs import Probe
from suite.onnx_files.safe_read import Limits
from suite.run.references import file_references
from zoo.spec import FileSource, Task, Tolerance

TOL = Tolerance(atol=1e-4, rtol=1e-3)
STORED = Bound.static(TOL, ReferenceKind.STORED)
EAGER = Bound.static(TOL)
NAN, INF = np.nan, np.inf


def test_nan_and_inf_in_place_match_only_in_a_files_expected_outputs() -> None:
    expected = np.array([1.0, NAN, INF, -INF], np.float32)
    candidate = expected + np.float32(1e-5)
    assert compare_array("y", expected, candidate, STORED).ok
    assert compare_array("y", expected, candidate, Bound.static(TOL, ReferenceKind.ORT_CPU)).ok
    eager = compare_array("y", expected, candidate, EAGER)
    assert not eager.ok and eager.problem.startswith("reference has 3 non-finite values")
    figures = compare_array("y", expected, candidate, STORED)
    assert figures.max_abs_err == pytest.approx(1e-5, rel=1e-2) and figures.mismatch_frac == 0.0


def test_a_misplaced_nan_or_inf_fails_against_stored_outputs() -> None:
    expected = np.array([1.0, NAN, INF, -INF], np.float32)
    stray = compare_array("y", expected, np.array([NAN, NAN, INF, -INF], np.float32), STORED)
    assert stray.problem == (
        "candidate has 1 non-finite values (NaN/Inf) where the reference is finite: first at [0]: expected 1.0, got nan"
    )
    finite = compare_array("y", expected, np.array([1.0, 0.0, INF, -INF], np.float32), STORED)
    assert finite.problem == (
        "1 of 3 expected NaN/Inf values not matched in place (stored outputs): first at [1]: expected nan, got 0.0"
    )
    assert finite.mismatch_frac == 0.25
    sign = compare_array("y", expected, np.array([1.0, NAN, -INF, -INF], np.float32), STORED)
    assert "first at [2]: expected inf, got -inf" in sign.problem
    nan_for_inf = compare_array("y", expected, np.array([1.0, NAN, INF, NAN], np.float32), STORED)
    assert "first at [3]: expected -inf, got nan" in nan_for_inf.problem


def test_complex_nan_matches_part_by_part() -> None:
    expected = np.array([1 + 1j, complex(NAN, 2.0)], np.complex64)
    assert compare_array("z", expected, expected.copy(), STORED).ok
    assert not compare_array("z", expected, np.array([1 + 1j, complex(NAN, 3.0)], np.complex64), STORED).ok


def _one_ulp_at_one(dtype: type) -> np.ndarray:
    return (np.ones(4) + 1e-3).astype(dtype)  # float16 rounds it to 1 + 2**-10, one ulp above 1


def test_float16_outputs_are_judged_at_float16_precision_float32_ones_at_the_tolerance() -> None:
    tight = Tolerance(atol=1e-5, rtol=1e-4)
    for dtype, passes in ((np.float16, True), (np.float32, False)):
        expected = np.ones(4, dtype)
        bound = file_bound(expected, tight, ReferenceKind.STORED)
        assert compare_array("y", expected, _one_ulp_at_one(dtype), bound).ok is passes, dtype
    bound = file_bound(np.ones(4, np.float16), tight, ReferenceKind.STORED)
    assert bound.precision == "float16" and bound.rtol == pytest.approx(4 * 2**-10)
    far = compare_array("y", np.ones(4, np.float16), np.full(4, 1.02, np.float16), bound)
    assert not far.ok and "(4 ulps of float16)" in far.problem


def test_bfloat16_and_float8_outputs_have_their_own_precision() -> None:
    bf16 = np.array([1.0, 2.0, -3.0], ml_dtypes.bfloat16)
    bound = file_bound(bf16, TOL, ReferenceKind.STORED)
    assert bound.precision == "bfloat16" and bound.rtol == pytest.approx(4 * 2**-7)
    one_ulp = np.array([1.0078125, 2.0, -3.0], ml_dtypes.bfloat16)
    assert compare_array("y", bf16, one_ulp, bound).ok
    assert not compare_array("y", bf16, np.array([1.5, 2.0, -3.0], ml_dtypes.bfloat16), bound).ok
    fp8 = np.array([1.0, NAN], ml_dtypes.float8_e4m3fn)
    assert file_bound(fp8, TOL, ReferenceKind.STORED).precision == "float8_e4m3fn"
    assert compare_array("y", fp8, fp8.copy(), file_bound(fp8, TOL, ReferenceKind.STORED)).ok


def test_exact_zeros_in_a_narrow_output_get_an_absolute_floor() -> None:
    expected = np.array([0.0, 0.0, 8.0], np.float16)
    bound = file_bound(expected, Tolerance(atol=0.0, rtol=1e-3), ReferenceKind.STORED)
    assert bound.atol == pytest.approx(4 * 2**-10 * 8.0)  # 4 ulps at the output's largest magnitude
    assert compare_array("y", expected, np.array([0.01, -0.02, 8.0], np.float16), bound).ok
    assert not compare_array("y", expected, np.array([0.5, 0.0, 8.0], np.float16), bound).ok


def test_file_bounds_say_which_rules_judged_the_outputs() -> None:
    outputs = [np.ones(2, np.float16), np.array([1, 2]), np.array(["a"], dtype=object), np.ones(2, np.float32)]
    bounds, rule = file_bounds(outputs, TOL, ReferenceKind.STORED)
    assert rule == (
        f"{FILE_RULE}; float16 at its own precision (4 ulps); integers, booleans and strings exact; "
        "NaN/Inf matched in place (stored outputs)"
    )
    assert [b.precision for b in bounds] == ["float16", EXACT, EXACT, ""]
    assert bounds[1] == Bound(0.0, 0.0, reference=ReferenceKind.STORED, precision=EXACT)
    assert all(b.reference is ReferenceKind.STORED for b in bounds)
    _, rule = file_bounds([np.ones(2, np.float32)], TOL, ReferenceKind.ORT_CPU)
    assert rule == f"{FILE_RULE}; NaN/Inf matched in place (ONNX Runtime CPU's outputs)"
    # A ZipMap output (a list of dicts of floats) is bounded by its leaves.
    assert file_bound([{"a": np.float16(1.0)}], TOL, ReferenceKind.STORED).precision == "float16"


def _spec() -> SimpleNamespace:
    return SimpleNamespace(tolerance=TOL, task=Task.REGRESSION, input_names=lambda: ("x",))


def _judged(reference_at: ReferenceAt, outputs: list[np.ndarray]) -> HopResult:
    probes = [Probe({})]
    return judge_sizes(_spec(), probes, lambda _: (["y"], outputs), reference_at, ["y"], "ONNX Runtime")


def test_a_files_stored_nan_is_its_answer_down_a_hop(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    data = folder / "test_data_set_0"
    data.mkdir(parents=True)
    expected = np.array([0.5, NAN, -INF], np.float32)
    (data / "input_0.pb").write_bytes(numpy_helper.from_array(np.ones(3, np.float32), "x").SerializeToString())
    (data / "output_0.pb").write_bytes(numpy_helper.from_array(expected, "y").SerializeToString())
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "identity",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])],
    )
    onnx.save(helper.make_model(graph), folder / "model.onnx")
    file = FileSource(model=folder / "model.onnx", folder=folder, data_sets=(data,))
    runner = SimpleNamespace(limits=Limits())
    reference_at = file_references(runner, _spec(), file, None, {})
    reference = reference_at(Probe({}))
    assert reference.kind is ReferenceKind.STORED
    assert reference.rule == f"{FILE_RULE}; NaN/Inf matched in place (stored outputs)"
    assert _judged(reference_at, [expected.copy()]).status == Status.PASS
    failed = _judged(reference_at, [np.array([0.5, 1.0, -INF], np.float32)])
    assert failed.status == Status.MISMATCH and failed.message == (
        "output 'y': 1 of 2 expected NaN/Inf values not matched in place (stored outputs): first at [1]: "
        "expected nan, got 1.0 (against the stored outputs of test_data_set_0)"
    )


def test_ort_cpus_nan_stands_in_for_a_file_without_stored_outputs() -> None:
    expected = np.array([NAN, 1.0], np.float32)
    file = FileSource(model=Path("m.onnx"), folder=Path("."))
    reference_at = file_references(SimpleNamespace(), _spec(), file, None, {Probe({}).label: [expected]})
    assert reference_at(Probe({})).kind is ReferenceKind.ORT_CPU
    assert _judged(reference_at, [expected.copy()]).status == Status.PASS


def test_an_eager_nan_still_fails_the_row() -> None:
    expected = [np.array([NAN, 1.0], np.float32)]
    comparison = compare_outputs(expected, expected, expected_names=["y"], candidate_names=["y"], tolerance=TOL)
    assert not comparison.ok and "the eager model's output cannot be compared" in comparison.message
