import numpy as np
import pytest

from suite.record import Record
from suite.variants import (
    cosine,
    fusions,
    op_delta,
    optimizations_for,
    policy_problems,
    quantizations_for,
    topk_agreement,
)
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
    record = Record("c", "m", "torchscript", 17, "static", "quant_fp16")
    record.top1_agreement = 0.95
    assert policy_problems(held, record, {"cosine": 0.999, "accuracy_drop_pp": 0.5}) == []
    problems = policy_problems(held, record, {"cosine": float("nan"), "accuracy_drop_pp": 1.5})
    assert problems == ["cosine nan < 0.99", "held-out accuracy drops 1.50 pp > 1.0"]


def test_variant_lists() -> None:
    assert optimizations_for(_spec(tags=frozenset({"bert"})))[-1] == "opt_transformers"
    assert "opt_transformers" not in optimizations_for(_spec())
    assert quantizations_for(("minmax", "entropy")) == [
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

    def call(self, worker: str, stage: str, ref: str, *args):
        self.calls.append((ref, args))
        return {}

    def cached_step(self, kind: str, key: str, suffix: str, run):
        from suite.cache import CachedOutcome

        self.keys.append(key)
        extra = run(self.tmp_path / f"{len(self.keys)}.onnx")
        return CachedOutcome("ok", extra=extra, seconds=0.1), self.tmp_path / f"{len(self.keys)}.onnx"


def test_a_provider_specific_variant_is_built_for_the_provider_that_runs_it(tmp_path) -> None:
    from types import SimpleNamespace

    from suite.providers import ProviderRequest
    from suite.variants import build_variant

    runner = _RecordingRunner(tmp_path)
    info = SimpleNamespace(node_count=3, file_bytes=100, op_counts={})
    prepared = SimpleNamespace(export_key="k", spec=_spec(), artifact=SimpleNamespace(path="m.onnx"), info=info)
    openvino = ProviderRequest("OpenVINOExecutionProvider", (("device_type", "CPU"),))
    rows = {}
    for variant, provider in [
        ("opt_ort_extended", None),
        ("opt_ort_extended", openvino),
        ("opt_ort_basic", openvino),
        ("opt_ort_basic", None),
    ]:
        record = Record("c", "m", "torchscript", 17, "static", variant)
        args = (runner, variant, record, prepared) + ((provider,) if provider else ())
        build_variant(*args)  # type: ignore[arg-type]
        rows[(variant, provider is not None)] = record.hops["optimized_for"]
    extended_cpu, extended_ov, basic_ov, basic_cpu = runner.keys
    assert extended_cpu != extended_ov  # an extended file is never shared between providers
    assert basic_cpu == basic_ov  # a basic-level file suits every provider, so it is shared
    assert runner.calls[1] == ("suite.transforms:optimize_ort", ("m.onnx", str(tmp_path / "2.onnx"), "extended",
                               "OpenVINOExecutionProvider", {"device_type": "CPU"}))  # fmt: skip
    assert rows == {
        ("opt_ort_extended", False): "cpu",
        ("opt_ort_extended", True): "openvino+device_type:CPU",
        ("opt_ort_basic", True): "",
        ("opt_ort_basic", False): "",
    }
