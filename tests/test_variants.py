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
