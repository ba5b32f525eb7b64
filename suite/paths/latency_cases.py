"""Which cases the latency path draws: each model's latency variants on each provider, and the
sizes a case is timed at (batch 1 where the export's batch axis is dynamic, a larger batch beside)."""

from __future__ import annotations

from collections.abc import Sequence

from suite.run.cases import Case, Draw, opsets_of, representative_exporter
from suite.run.transforms import QUANTIZE, transform_named, transforms_for
from zoo.expectations import expectation_for
from zoo.spec import ModelSpec

BATCH_DIM = "batch"
FP32 = "fp32"  # the export itself, untransformed


def latency_variants_for(spec: ModelSpec, draw: Draw) -> list[str]:
    """FP32, an offline optimization, and every quantization the run selects for the model.

    The optimization is onnxruntime.transformers' for BERT/GPT-2, else ORT's "extended"
    level: "all" adds the NCHWc layout, contrib ops only ORT's CPU provider runs (ORT
    warns such a file is tied to the machine that wrote it), which no other provider loads.
    The quantizations are timed here only: the quantize path's table takes their speedup
    from these rows, so each variant is timed once, by one method.
    """
    optimized = "opt_transformers" if transform_named("opt_transformers").applies_to(spec) else "opt_ort_extended"
    return [FP32, optimized, *transforms_for(QUANTIZE, draw)(spec)]


def batch_is_dynamic(spec: ModelSpec) -> bool:
    """Every input has a dynamic "batch" axis first, so the model can be fed larger batches."""
    return bool(spec.inputs) and all(inp.dynamic_dims.get(0) == BATCH_DIM for inp in spec.inputs)


def draw_cases(draw: Draw) -> list[Case]:
    """Per model: its representative export (dynamic where the batch axis is, so larger batches
    can be timed), times its latency variants, times the providers; grouped by model."""
    cases = []
    for spec in draw.specs:
        exporter = representative_exporter(spec, draw.opsets)
        if exporter is None:
            continue
        opset = max(opsets_of(spec, exporter, draw.opsets))
        shape = _latency_shape(spec, exporter, opset, draw.shapes)
        for provider in draw.providers:
            for variant in latency_variants_for(spec, draw):
                label = f"lat.{variant}.{provider.label}"
                cases.append(Case(spec.name, exporter, opset, shape, "latency", label, variant, provider))
    return cases


def _latency_shape(spec: ModelSpec, exporter: str, opset: int, shapes: Sequence[str]) -> str:
    """Dynamic where the batch axis is and the dynamic export is not a known failure on ONNX Runtime
    (zoo/expectations.py): a dynamic export that only runs at its traced size cannot be timed at batch 1."""
    if not (batch_is_dynamic(spec) and "dynamic" in shapes):
        return "static"
    known_broken = expectation_for(Case(spec.name, exporter, opset, "dynamic").case_id)  # its ort case
    return "static" if known_broken is not None else "dynamic"


def _takes_any_batch(spec: ModelSpec, shape: str) -> bool:
    return shape == "dynamic" and batch_is_dynamic(spec)


def timed_dims(spec: ModelSpec, shape: str) -> dict[str, int]:
    """Sizes latency is measured at: batch 1 where the export takes any batch, else the export's own."""
    return {**spec.dims, BATCH_DIM: 1} if _takes_any_batch(spec, shape) else dict(spec.dims)


def large_batch_dims(spec: ModelSpec, shape: str, batch: int) -> dict[str, int] | None:
    """Sizes at the larger batch, or None where the export's batch axis is fixed."""
    return {**spec.dims, BATCH_DIM: batch} if _takes_any_batch(spec, shape) else None
