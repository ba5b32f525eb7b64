"""The latency stage's measurement: fidelity against a bare loop, statistics, batches, tables."""

import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from suite.core.record import Status
from suite.paths.latency import benchmark_session
from suite.paths.latency_cases import batch_is_dynamic, draw_cases, large_batch_dims, latency_variants_for, timed_dims
from suite.report.latency import latency_rows, provider_comparison
from suite.run.cases import Draw
from suite.run.pipeline import StageFailure
from suite.runtime.providers import ProviderRequest
from suite.runtime.sessions import Threads, create_session
from suite.runtime.timing import TimingPlan, summarize
from suite.workers import torch_models  # noqa: TID251 - drives a torch worker
from tests.onnx_models import matmul_chain
from zoo.registry import ModelRegistry

FIDELITY = 0.05  # the suite's median within 5% of a bare loop's


def test_reported_median_matches_a_bare_timing_loop(benchmark: Any, tmp_path: Path) -> None:
    """The suite's p50 (pytest-benchmark rounds) against a bare perf_counter loop on the same session.

    One bare call is timed before each of the suite's rounds (untimed by it), so the two
    sets of samples interleave and drift in machine load lands on both alike.
    """
    # About 1 ms a run: long enough that timer overhead is noise, short enough for many rounds.
    model = matmul_chain(tmp_path / "chain.onnx", width=512, depth=6)
    session = create_session(model, ProviderRequest("CPUExecutionProvider"), Threads(intra_op=1, inter_op=1))
    feeds = {"x": np.random.default_rng(0).standard_normal((32, 512)).astype(np.float32)}
    names = [o.name for o in session.get_outputs()]
    bare_ms: list[float] = []

    def bare_call() -> None:
        start = time.perf_counter()
        session.run(names, feeds)
        bare_ms.append((time.perf_counter() - start) * 1000.0)

    stats = benchmark_session(benchmark, session, feeds, TimingPlan(target_s=0.8, max_rounds=400), bare_call)
    bare = statistics.median(bare_ms[-stats.rounds :])  # the calls beside the measured rounds
    print(f"fidelity: suite p50 {stats.p50_ms:.4f} ms, bare loop median {bare:.4f} ms, ratio {stats.p50_ms / bare:.4f}")
    assert stats.rounds >= 15 and len(bare_ms) >= stats.rounds
    # Within FIDELITY of the bare median, or, on a loaded machine, within half the samples' own
    # interquartile range: the two interleaved medians cannot agree closer than the load lets them
    # (measured in CI beside a corpus run: 6.8% apart with an IQR of 41% of the median).
    assert abs(stats.p50_ms - bare) < max(FIDELITY * bare, 0.5 * stats.iqr_ms)


def test_disabled_benchmarks_give_a_skip_not_figures(tmp_path: Path) -> None:
    class Disabled:
        stats = None

        def pedantic(self, target: Any, **_: Any) -> Any:
            return target()

    model = matmul_chain(tmp_path / "chain.onnx", width=8, depth=1)
    session = create_session(model, ProviderRequest("CPUExecutionProvider"))
    with pytest.raises(StageFailure) as failure:
        benchmark_session(Disabled(), session, {"x": np.ones((1, 8), np.float32)}, TimingPlan(target_s=0.01))
    assert failure.value.status == Status.SKIP and "--benchmark-disable" in failure.value.message


def test_summary_percentiles() -> None:
    stats = summarize([i / 1000.0 for i in range(1, 101)])  # 1..100 ms
    assert stats.p50_ms == pytest.approx(50.5)
    assert stats.p90_ms == pytest.approx(90.1)
    assert stats.p99_ms == pytest.approx(99.01)
    assert stats.iqr_ms == pytest.approx(49.5)
    assert stats.min_ms == pytest.approx(1.0) and stats.rounds == 100


def test_larger_batches_only_where_the_export_takes_them() -> None:
    models = ModelRegistry().load_builtin()
    resnet, bert, ssd = (
        models.get("resnet18"),
        models.get("bert_tiny"),
        models.get("ssdlite320_mobilenet_v3_large"),
    )
    assert batch_is_dynamic(resnet) and not batch_is_dynamic(ssd)
    assert large_batch_dims(resnet, "dynamic", 8) == {"batch": 8}
    assert timed_dims(bert, "dynamic") == {"batch": 1, "seq": 16}
    assert timed_dims(bert, "static") == {"batch": 2, "seq": 16}  # a static export runs at its own sizes
    assert large_batch_dims(resnet, "static", 8) is None
    assert timed_dims(ssd, "static") == {} and large_batch_dims(ssd, "static", 8) is None


def test_latency_cases_per_variant_and_provider_with_ids() -> None:
    models = ModelRegistry().load_builtin()
    specs = [models.get("resnet18"), models.get("ssdlite320_mobilenet_v3_large"), models.get("gpt2_tiny")]
    providers = (
        ProviderRequest("CPUExecutionProvider"),
        ProviderRequest("OpenVINOExecutionProvider", (("device_type", "CPU"),)),
    )
    draw = Draw(specs, {"torchscript": (13, 17), "dynamo": (18,)}, ("static", "dynamic"), providers)
    cases = draw_cases(draw)
    assert len(cases) == 3 * 5 * 2
    ids = {c.case_id for c in cases}
    assert "resnet18-torchscript-op17-dynamic-lat.fp32.cpu" in ids
    assert "ssdlite320_mobilenet_v3_large-torchscript-op17-static-lat.quant_fp16.openvino+device_type:cpu" in ids
    assert "gpt2_tiny-torchscript-op17-dynamic-lat.opt_transformers.cpu" in ids
    assert latency_variants_for(specs[0], draw) == [
        "fp32",
        "opt_ort_extended",
        "quant_int8_dynamic",
        "quant_int8_static_minmax",
        "quant_fp16",
    ]
    # The full profile times every quantization it selects: the quantize path's table takes the speedups from here.
    full = replace(draw, calibrations=("minmax", "entropy", "percentile"), profile="full")
    assert latency_variants_for(specs[0], full)[2:] == [
        "quant_int8_dynamic",
        "quant_int8_static_minmax",
        "quant_int8_static_entropy",
        "quant_int8_static_percentile",
        "quant_fp16",
        "quant_int4_weight_only",
    ]
    assert {(c.path, c.variant) for c in cases if c.model == "resnet18"} >= {
        ("latency", "fp32"),
        ("latency", "quant_fp16"),
    }
    # A dynamic export known to run only at its traced size (zoo/expectations.py) is not timed at batch 1.
    encoder = draw_cases(
        Draw([models.get("transformer_encoder")], {"torchscript": (17,)}, ("static", "dynamic"), providers[:1])
    )
    assert {c.shape for c in encoder} == {"static"}


def _row(model: str, variant: str, package: str, provider: str, p50: float, status: str = "pass") -> dict[str, Any]:
    return {
        "case_id": f"{model}-{variant}-{provider}",
        "path": f"lat.{variant}.{provider}",
        "model": model,
        "variant": variant,
        "ort_package": package,
        "provider_label": provider,
        "status": status,
        "p50_ms": p50,
    }


def test_tables_put_providers_side_by_side() -> None:
    frame = pd.DataFrame(
        [
            _row("m", "fp32", "onnxruntime", "cpu", 4.0),
            _row("m", "quant_fp16", "onnxruntime", "cpu", 8.0),
            _row("m", "fp32", "onnxruntime-openvino", "openvino", 2.0),
            _row("m", "fp32", "onnxruntime-openvino", "cpu", 5.0),
            _row("m", "quant_fp16", "onnxruntime-openvino", "openvino", float("nan"), "fallback"),
            {"case_id": "other", "path": "ort_cpu", "model": "m", "status": "pass"},
        ]
    )
    rows = latency_rows(frame)
    assert len(rows) == 5
    assert rows.set_index(["ort_package", "variant"]).loc[("onnxruntime", "quant_fp16"), "vs_fp32"] == 0.5
    table = provider_comparison(frame).set_index("variant")
    assert table.loc["fp32", "p50 ms: onnxruntime / cpu"] == 4.0
    assert table.loc["fp32", "onnxruntime-openvino / openvino speedup vs onnxruntime / cpu"] == 2.0
    assert table.loc["fp32", "onnxruntime-openvino / openvino speedup vs onnxruntime-openvino / cpu"] == 2.5
    assert table.loc["quant_fp16", "p50 ms: onnxruntime-openvino / openvino"] == "fallback"


def test_gpu_rows_ask_for_a_gpu_baseline_and_say_where_it_ran() -> None:
    from suite.paths.latency import eager_device_for
    from suite.runtime.providers import ProviderRequest
    from suite.workers.isolate import Worker
    from suite.workers.settings import WorkerSettings

    assert eager_device_for(ProviderRequest("CUDAExecutionProvider")) == "cuda"
    assert eager_device_for(ProviderRequest("TensorrtExecutionProvider")) == "cuda"
    assert eager_device_for(ProviderRequest("OpenVINOExecutionProvider")) == "cpu"
    with Worker("torch", torch_models.init_worker, (WorkerSettings(),)) as worker:
        plan = TimingPlan(warmup_s=0.01, target_s=0.05)
        inputs = {"x": np.ones((1, 10), dtype=np.float32)}
        result = worker.call(torch_models.eager_latency, "mlp", inputs, 1, plan, "cuda", timeout=300)
    # This machine has no GPU: the baseline ran on the CPU, and the row will say so.
    assert result["device"] == "cpu (torch sees no GPU)" and result["p50_ms"] > 0


def test_a_tf32_session_is_judged_strictly_with_tf32_off_and_its_error_reported() -> None:
    from suite.paths.latency_numerics import numerics_policy, strict_request
    from suite.run.cases import Case
    from suite.runtime.providers import ProviderRequest

    cuda = ProviderRequest("CUDAExecutionProvider", (("use_tf32", "1"), ("device_id", "0")))
    strict = strict_request(cuda, {"use_tf32": "1", "device_id": "0"})
    assert strict == ProviderRequest("CUDAExecutionProvider", (("device_id", "0"), ("use_tf32", "0")))
    assert strict_request(ProviderRequest("CUDAExecutionProvider"), {"use_tf32": "0"}) is None
    assert strict_request(ProviderRequest("CPUExecutionProvider"), {}) is None
    fp32 = Case("m", "torchscript", 17, "static", "latency", "lat.fp32.cuda", "fp32", cuda)
    assert "use_tf32=0" in numerics_policy(fp32, strict, "calibrated (16x fp32 floor)")
    assert numerics_policy(fp32, None, "static").startswith("FP32 judged on the timed session")
    fp16 = Case("m", "torchscript", 17, "static", "latency", "lat.quant_fp16.cuda", "quant_fp16", cuda)
    assert numerics_policy(fp16, strict, "static").startswith("recorded, not judged")
