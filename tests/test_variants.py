import numpy as np
import pytest

from suite.core.outcome import Trail
from suite.paths.quantize import cosine, policy_problems, topk_agreement
from suite.run.cases import Draw
from suite.run.transforms import OPTIMIZE, QUANTIZE, optimize_ort, transforms_for
from suite.run.variants import fusions, op_delta
from zoo import HeldOut, InputSpec, ModelSpec, QuantPolicy, Task


def _spec(**kwargs) -> ModelSpec:
    return ModelSpec("m", lambda: None, (InputSpec("x", (1, 4)),), **kwargs)


def test_fusions_are_named_from_op_count_changes() -> None:
    before = {"Conv": 20, "BatchNormalization": 20, "Relu": 17, "Constant": 30, "MatMul": 4, "Add": 4}
    after = {"Conv": 3, "com.microsoft:FusedConv": 17, "Gemm": 4, "com.microsoft.nchwc:Conv": 2}
    names = fusions(before, after)
    assert "Conv+BatchNormalization folded" in names
    assert "Conv+activation fused (FusedConv)" in names
    assert "NCHWc layout" in names and "constant folding" in names
    assert "fused attention" not in names
    assert fusions(before, before) == []


def test_op_delta_lists_biggest_changes_first() -> None:
    assert op_delta({"Relu": 17, "Conv": 20}, {"Conv": 20, "FusedConv": 3}) == "-Relu 17, +FusedConv 3"


def test_cosine_and_topk() -> None:
    a = np.array([1.0, 2.0, 3.0])
    assert cosine(a, a) == pytest.approx(1.0)
    assert np.isnan(cosine(a, np.array([1.0, np.nan, 3.0])))  # NaN never passes
    ref = np.array([[0.1, 0.5, 0.4], [0.9, 0.05, 0.05]])
    cand = np.array([[0.1, 0.4, 0.5], [0.9, 0.05, 0.05]])
    assert topk_agreement(ref, cand, 1) == 0.5
    assert topk_agreement(ref, cand, 2) == 1.0


def test_policy_problems_use_the_models_thresholds() -> None:
    held = _spec(
        task=Task.CLASSIFICATION,
        quant_policy=QuantPolicy(min_cosine=0.99, min_top1=0.9, max_accuracy_drop=1.0),
        held_out=lambda: HeldOut("x", None, None, None),
    )
    assert policy_problems(held, {"cosine": 0.999, "accuracy_drop_pp": 0.5}) == []
    problems = policy_problems(held, {"cosine": float("nan"), "accuracy_drop_pp": 1.5})
    assert problems == ["cosine nan < 0.99", "held-out accuracy drops 1.50 pp > 1.0"]


def test_a_figure_that_fails_on_its_own_noise_does_not_judge() -> None:
    from suite.paths.quantize import judges_anything, policy_not_judged

    detector = _spec(task=Task.DETECTION, quant_policy=QuantPolicy(min_cosine=0.99))
    noisy = {"cosine": 0.87, "noise_cosine": 0.886}
    # FP32 against itself already scores 0.886: 0.87 says nothing about the INT8 variant.
    assert policy_problems(detector, noisy) == []
    assert "cosine not judged" in policy_not_judged(detector, noisy) and not judges_anything(detector, noisy)
    quiet = {"cosine": 0.87, "noise_cosine": 0.99999}
    assert policy_problems(detector, quiet) == ["cosine 0.8700 < 0.99"]
    assert policy_not_judged(detector, quiet) == "" and judges_anything(detector, quiet)
    classifier = _spec(task=Task.CLASSIFICATION)
    clear = {**noisy, "top1_agreement_clear": 1.0, "clear_rows": 8}
    assert judges_anything(classifier, clear)  # top-1 on clear rows still judges


def test_variant_lists() -> None:
    draw = Draw((), {}, ("static",), calibrations=("minmax", "entropy"))
    optimizations_for, quantizations_for = transforms_for(OPTIMIZE, draw), transforms_for(QUANTIZE, draw)
    assert optimizations_for(_spec(tags=frozenset({"bert"})))[-1] == "opt_transformers"
    assert "opt_transformers" not in optimizations_for(_spec())
    assert quantizations_for(_spec()) == [
        "quant_int8_dynamic",
        "quant_int8_static_minmax",
        "quant_int8_static_entropy",
        "quant_fp16",
    ]


class _RecordingRunner:
    """Stands in for CaseRunner: records the transform calls and cache keys, writes an empty product."""

    def __init__(self, tmp_path) -> None:
        self.tmp_path, self.calls, self.keys = tmp_path, [], []

    def versions(self, group: str) -> dict[str, str]:
        return {"onnxruntime": "1.32.0"}

    def call(self, worker: str, stage: str, function, *args):
        self.calls.append((function, args))
        return {}

    def cached_step(self, kind: str, key: str, suffix: str, run):
        from suite.run.cache import CachedOutcome

        self.keys.append(key)
        extra = run(self.tmp_path / f"{len(self.keys)}.onnx")
        return CachedOutcome("ok", extra=extra, seconds=0.1), self.tmp_path / f"{len(self.keys)}.onnx"


def test_a_provider_specific_variant_is_built_for_the_provider_that_runs_it(tmp_path) -> None:
    from types import SimpleNamespace

    from suite.run.variants import build_variant
    from suite.runtime.providers import ProviderRequest

    runner = _RecordingRunner(tmp_path)
    info = SimpleNamespace(node_count=3, file_bytes=100, op_counts={})
    prepared = SimpleNamespace(export_key="k", spec=_spec(), artifact=SimpleNamespace(path="m.onnx"), info=info)
    cuda = ProviderRequest("CUDAExecutionProvider")
    openvino = ProviderRequest("OpenVINOExecutionProvider", (("device_type", "CPU"),))
    rows, levels = {}, {}
    for variant, provider in [
        ("opt_ort_extended", None),
        ("opt_ort_extended", cuda),
        ("opt_ort_extended", openvino),
        ("opt_ort_basic", openvino),
        ("opt_ort_basic", None),
    ]:
        trail = Trail()
        args = (runner, variant, trail, prepared) + ((provider,) if provider else ())
        built = build_variant(*args)  # type: ignore[arg-type]
        label = provider.alias if provider else "cpu"
        rows[(variant, label)] = trail.passed().columns()["optimized_for"]
        levels[(variant, label)] = (str(built.path), built.session_level)
    # OpenVINO compiles nodes, so its extended variant is no file: its session optimizes online.
    extended_cpu, extended_cuda, basic_ov, basic_cpu = runner.keys
    assert extended_cpu != extended_cuda  # an extended file is never shared between providers
    assert basic_cpu == basic_ov  # a basic-level file suits every provider, so it is shared
    assert runner.calls[1] == (optimize_ort, ("m.onnx", str(tmp_path / "2.onnx"), "extended",
                               "CUDAExecutionProvider", {}))  # fmt: skip
    assert len(runner.calls) == 4  # no transform ran for the online variant
    assert rows == {
        ("opt_ort_extended", "cpu"): "cpu",
        ("opt_ort_extended", "cuda"): "cuda",
        ("opt_ort_extended", "openvino"): "online on openvino+device_type:CPU",
        ("opt_ort_basic", "openvino"): "",
        ("opt_ort_basic", "cpu"): "",
    }
    assert levels[("opt_ort_extended", "openvino")] == ("m.onnx", "extended")  # the export, optimized by the session
    assert levels[("opt_ort_basic", "openvino")] == (str(tmp_path / "3.onnx"), None)


def test_top1_counts_only_rows_with_a_clear_fp32_top1() -> None:
    from suite.paths.quantize import clear_rows

    logits = np.array([[5.0, 0.0, 0.1], [1.0, 1.0001, 0.0], [0.0, 0.0, 0.0]])
    assert list(clear_rows(logits)) == [True, False, False]  # a near-tie and a flat row are not clear
    spec = _spec(task=Task.CLASSIFICATION, quant_policy=QuantPolicy(min_cosine=0.9, min_top1=0.9))
    assert policy_problems(spec, {"cosine": 0.999, "top1_agreement_clear": 1.0, "clear_rows": 8}) == []
    too_few = {"cosine": 0.999, "top1_agreement_clear": 0.5, "clear_rows": 2}
    assert policy_problems(spec, too_few) == []
    bad = {"cosine": 0.999, "top1_agreement_clear": 0.75, "clear_rows": 8}
    assert policy_problems(spec, bad) == ["top-1 agreement 0.750 < 0.9 on the 8 rows with a clear FP32 top-1"]


def test_the_noise_rerun_of_fp32_against_itself_is_near_perfect(tmp_path) -> None:
    import onnx
    from onnx import TensorProto, helper

    from suite.paths.quantize import policy_noise
    from suite.run.variants import outputs_on
    from suite.runtime.sessions import session_from_artifact

    weights = np.random.default_rng(1).standard_normal((8, 10)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        [helper.make_tensor("w", TensorProto.FLOAT, [8, 10], weights.ravel().tolist())],
    )
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    session = session_from_artifact(path)
    feeds = [{"x": np.random.default_rng(i).standard_normal((1, 8)).astype(np.float32)} for i in range(16)]
    noise = policy_noise(_spec(task=Task.CLASSIFICATION), session, feeds, outputs_on(session, feeds))
    assert noise["noise_cosine"] > 0.9999 and noise["noise_top1_agreement_clear"] == 1.0


def test_a_files_nan_and_inf_are_its_answer_for_the_quantized_variant_too() -> None:
    from suite.paths.quantize import finite_part, judged_output

    inf, nan = float("inf"), float("nan")
    fp32 = np.array([1.0, -inf, 2.0, nan])
    kept, cand, moved = finite_part(fp32, np.array([1.1, -inf, 1.9, nan]))
    assert moved == "" and list(kept) == [1.0, 2.0] and list(cand) == [1.1, 1.9]  # judged where FP32 is finite
    assert finite_part(fp32, np.array([1.0, inf, 2.0, nan]))[2] == (
        "1 of FP32's 2 NaN/Inf values are not the variant's in place"
    )
    assert finite_part(np.array([1.0, 2.0]), np.array([nan, 2.0]))[2] == ""  # the cosine fails it (NaN)
    # The judged output: the first floating-point array on every draw (labels first in skl2onnx files).
    labels, probs = np.array(["a", "b"]), np.array([[0.2, 0.8]], np.float32)
    assert judged_output([[labels, probs], [labels, probs]]) == 1
    assert judged_output([[labels, [{"a": 0.2}]]]) is None
