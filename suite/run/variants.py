"""Variants of an export (optimized, quantized): built through the cache, and the inputs they meet.

Each variant case is one transform (suite.run.transforms.TRANSFORMS) of one model's representative
FP32 export (suite.run.cases.variant_cases). The transform runs in the onnx worker; the optimize,
quantize and latency paths judge and time the file it wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from suite.core import inherent
from suite.core.outcome import FieldFigures, Trail
from suite.core.record import Status
from suite.judge.inputs import make_inputs
from suite.run.cache import content_key
from suite.run.cases import CPU, Case, Draw, variant_cases
from suite.run.pipeline import CaseRunner, Prepared, StageFailure
from suite.run.transforms import QUANTIZE, TRANSFORMS_VERSION, TransformInputs, transform_named, transforms_for
from suite.runtime.providers import ProviderRequest
from suite.runtime.sessions import output_values
from zoo.spec import ModelSpec

EVAL_DRAWS = 16  # seeded input sets the variants are judged on
CALIBRATION_DRAW_BASE = 100  # calibration draws never overlap the evaluation draws
CALIBRATION_DRAWS = 16


def transform_cases(kind: str) -> Callable[[Draw], list[Case]]:
    """How the path that judges transforms of `kind` (and bears its name) draws its cases: each
    model's representative export, times the transforms of that kind selected for the run."""
    return lambda draw: variant_cases(draw, kind, transforms_for(kind, draw))


def calibration_feeds(spec: ModelSpec) -> list[dict[str, np.ndarray]]:
    """Calibration inputs: the model's real data where it ships some, else seeded draws."""
    if spec.held_out is not None:
        data = spec.held_out()
        return one_sample_feeds(data.input_name, data.calibration)
    return [make_inputs(spec, draw=CALIBRATION_DRAW_BASE + i) for i in range(CALIBRATION_DRAWS)]


def one_sample_feeds(input_name: str, samples: Any) -> list[dict[str, np.ndarray]]:
    """A batch of real samples as feeds of one sample each (representative exports are batch 1)."""
    return [{input_name: sample[None]} for sample in samples]


def evaluation_feeds(spec: ModelSpec, draws: int = EVAL_DRAWS) -> list[dict[str, np.ndarray]]:
    """The first `draws` inputs the variants are compared on: held-out samples where the model has
    real data (a model calibrated on real data meets real data), else seeded draws."""
    if spec.held_out is not None:
        data = spec.held_out()
        return one_sample_feeds(data.input_name, data.test_inputs[:draws])
    return [make_inputs(spec, draw=i) for i in range(draws)]


def outputs_on(session: Any, feeds: Sequence[Mapping[str, np.ndarray]]) -> list[list[Any]]:
    """The session's outputs on each feed, as values (suite.runtime.sessions.output_values: a
    sequence output stays a list, to be compared by structure)."""
    names = [o.name for o in session.get_outputs()]
    with inherent.spent("ort_run"):
        outputs = [session.run(names, dict(f)) for f in feeds]
    return [output_values(session, run) for run in outputs]


def optimized_for(variant: str, provider: ProviderRequest) -> ProviderRequest | None:
    """The provider a variant's file is built for, or None where the file suits every provider."""
    return provider if transform_named(variant).provider_specific else None


# The ops whose weights quantization and FP16 conversion rewrite (ONNX Runtime's quantizers, the
# transformers FP16 converter). A graph without any, such as a scikit-learn model of ONNX-ML ops
# only (LinearRegressor, TreeEnsembleClassifier), would come out as it went in: a variant of
# nothing, whose pass would judge nothing.
QUANTIZED_OPS = frozenset(
    {"Conv", "ConvTranspose", "MatMul", "Gemm", "Attention", "LSTM", "GRU", "RNN", "Gather", "EmbedLayerNormalization"}
)


def nothing_to_quantize(variant: str, op_counts: Mapping[str, int]) -> str:
    """Why a quantizing `variant` does not apply to a graph of these op types ("" where it does)."""
    if transform_named(variant).kind != QUANTIZE or QUANTIZED_OPS & set(op_counts):
        return ""
    ops = ", ".join(sorted(op_counts)) or "none"
    return f"nothing to quantize: no Conv, MatMul, Gemm or other op quantization rewrites; the graph's ops: {ops}"


def online_level(variant: str, provider: ProviderRequest) -> str | None:
    """The graph optimization level `provider`'s session applies in place of `variant`'s file, where
    the file would be built for a provider that compiles nodes and so cannot save it; else None."""
    transform = transform_named(variant)
    return transform.session_level if transform.provider_specific and provider.compiles else None


def _transform_call(
    runner: CaseRunner, spec: ModelSpec, variant: str, source: str, provider: ProviderRequest
) -> Callable[[Path], Any]:
    """The onnx-worker call that writes `variant` of `source` to a scratch path."""
    transform = transform_named(variant)
    arguments = transform.arguments(TransformInputs(spec, provider, lambda: calibration_feeds(spec)))

    def run(scratch: Path) -> Any:
        return runner.call("onnx", "transform", transform.function, source, str(scratch), *arguments)

    return run


@dataclass(frozen=True)
class VariantFacts(FieldFigures):
    """What a transform did to the export: time, nodes, size, op types and fusions."""

    transform_seconds: float
    nodes_before: int
    nodes_after: int | None
    size_before: int | None
    size_after: int | None
    size_ratio: float | None
    op_delta: str
    fusions: str
    preprocess_note: str
    optimized_for: str  # the provider a provider-specific file was built for, else ""


@dataclass(frozen=True)
class VariantFile:
    """What a variant is timed and judged as: a file, and the level its session optimizes at."""

    path: Path
    facts: dict[str, Any]  # what the transform reported (node_count, op_counts, ...); {} when online
    session_level: str | None = None  # set: the session optimizes `path` itself (online optimization)


def build_variant(
    runner: CaseRunner, variant: str, trail: Trail, prepared: Prepared, provider: ProviderRequest = CPU
) -> VariantFile:
    """The file of `variant` for `provider` (through the cache) and the facts its transform reported;
    on a provider that compiles nodes, an ORT optimization level is left to the session (online)."""
    trail.enter("transform")
    idle = nothing_to_quantize(variant, prepared.info.op_counts)
    if idle:
        raise StageFailure(Status.SKIP, idle)
    level = online_level(variant, provider)
    if level is not None:
        trail.add(_online_facts(prepared, provider))
        return VariantFile(prepared.artifact.path, {}, level)
    target = optimized_for(variant, provider)
    key = content_key(
        kind="variant",
        export=prepared.export_key,
        variant=variant,
        transforms=TRANSFORMS_VERSION,
        # Only provider-specific variants carry the provider: the others are shared by every provider.
        **({"optimized_for": target.label} if target else {}),
        **runner.versions("onnx"),
    )
    outcome, product = runner.cached_step(
        "variants",
        key,
        ".onnx",
        _transform_call(runner, prepared.spec, variant, str(prepared.artifact.path), target or CPU),
    )
    if product is None:
        raise StageFailure(Status(outcome.status), outcome.message, outcome.detail)
    facts = dict(outcome.extra)
    before, after = prepared.info, facts.get("op_counts", {})
    trail.add(
        VariantFacts(
            transform_seconds=round(outcome.seconds, 3),
            nodes_before=before.node_count,
            nodes_after=facts.get("node_count"),
            size_before=before.file_bytes,
            size_after=facts.get("file_bytes"),
            size_ratio=round(facts["file_bytes"] / before.file_bytes, 4) if facts.get("file_bytes") else None,
            op_delta=op_delta(before.op_counts, after),
            fusions="; ".join(fusions(before.op_counts, after)),
            preprocess_note=facts.get("preprocess_note", ""),
            optimized_for=target.label if target else "",
        )
    )
    return VariantFile(product, facts)


ONLINE = "online on "  # optimized_for of a variant its provider's session optimized itself


def _online_facts(prepared: Prepared, provider: ProviderRequest) -> VariantFacts:
    """An online variant's facts: no file was written, so nothing after the transform is known."""
    before = prepared.info
    return VariantFacts(
        transform_seconds=0.0,
        nodes_before=before.node_count,
        nodes_after=None,
        size_before=before.file_bytes,
        size_after=None,
        size_ratio=None,
        op_delta="",
        fusions="",
        preprocess_note="",
        optimized_for=ONLINE + provider.label,
    )


def op_delta(before: Mapping[str, int], after: Mapping[str, int]) -> str:
    """Op-type count changes, e.g. "+FusedConv 20, -BatchNormalization 20, -Relu 17"."""
    changes = []
    for op in sorted(set(before) | set(after)):
        diff = after.get(op, 0) - before.get(op, 0)
        if diff:
            changes.append((-abs(diff), f"{'+' if diff > 0 else '-'}{op} {abs(diff)}"))
    return ", ".join(text for _, text in sorted(changes))


# Named rewrites, recognised from op-count changes: (name, op types, "up" or "down").
_FUSIONS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Conv+BatchNormalization folded", ("BatchNormalization",), "down"),
    ("Conv+activation fused (FusedConv)", ("FusedConv",), "up"),
    ("MatMul+Add fused (Gemm)", ("Gemm",), "up"),
    ("fused MatMul (FusedMatMul)", ("FusedMatMul",), "up"),
    ("fused Gelu", ("Gelu", "FastGelu", "BiasGelu"), "up"),
    (
        "fused LayerNormalization",
        ("LayerNormalization", "SkipLayerNormalization", "SimplifiedLayerNormalization"),
        "up",
    ),
    ("fused attention", ("Attention", "MultiHeadAttention", "GroupQueryAttention"), "up"),
    ("NCHWc layout", ("com.microsoft.nchwc:Conv",), "up"),
    ("constant folding", ("Constant", "Shape", "Gather", "Unsqueeze", "Concat"), "down"),
)


def _count(counts: Mapping[str, int], ops: Sequence[str]) -> int:
    # Contrib ops are counted under "com.microsoft:<op>" (see suite.run.transforms).
    return sum(counts.get(op, 0) + counts.get(f"com.microsoft:{op}", 0) for op in ops)


def fusions(before: Mapping[str, int], after: Mapping[str, int]) -> list[str]:
    """Which known rewrites happened, judged from op counts before and after."""
    happened = []
    for name, ops, direction in _FUSIONS:
        change = _count(after, ops) - _count(before, ops)
        if (direction == "up" and change > 0) or (direction == "down" and change < 0):
            happened.append(name)
    return happened
