"""Graph transforms: an input .onnx in, a new .onnx out, the input untouched.

Optimization (ONNX Runtime levels, the onnxscript optimizer, the transformers
optimizer) and quantization (INT8 dynamic, INT8 static QDQ with calibration,
FP16). These run in the onnx worker process: quantization tools run ONNX
Runtime internally, and a crash there must cost one case, not the run.

TRANSFORMS, at the end, declares each one as data: its variant name, the path that
judges it, the function and its arguments. Adding a transform is a function and an
entry there; the optimize or quantize path, the cache and the report take it from that.
"""

from __future__ import annotations

import contextlib
import functools
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from suite.run.cases import Draw
from suite.runtime.providers import ProviderRequest
from suite.runtime.sessions import GRAPH_LEVELS
from zoo.spec import ModelSpec

# Part of every variant's cache key: bump when a transform changes what it writes.
TRANSFORMS_VERSION = 2
CALIBRATION_METHODS = {"minmax": "MinMax", "entropy": "Entropy", "percentile": "Percentile"}


def _in_scratch_dir(function: Callable[..., Any]) -> Callable[..., Any]:
    """Run a transform with a temporary working directory.

    ONNX Runtime's quantization tools write scratch files (sym_shape_infer_temp.onnx,
    <uuid>.data external weights) into the current directory; keep them out of the
    user's checkout. Paths given to transforms are absolute.
    """

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with tempfile.TemporaryDirectory(prefix="zoo-transform-") as scratch, contextlib.chdir(scratch):
            return function(*args, **kwargs)

    return wrapper


def _facts(path: str) -> dict[str, Any]:
    import onnx

    model = onnx.load(path)
    counts: dict[str, int] = {}
    for node in model.graph.node:
        # Contrib ops keep their domain: ORT's NCHWc "Conv" is not the standard Conv.
        op = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}:{node.op_type}"
        counts[op] = counts.get(op, 0) + 1
    return {"node_count": len(model.graph.node), "op_counts": counts, "file_bytes": Path(path).stat().st_size}


@_in_scratch_dir
def optimize_ort(
    source: str,
    target: str,
    level: str,
    provider: str = "CPUExecutionProvider",
    provider_options: dict[str, str] | None = None,
) -> dict[str, Any]:
    """ONNX Runtime offline optimization at `level` (basic, extended, all) for `provider`, saved to `target`.

    Extended and layout optimizations write the provider's own kernels, so the file is for that
    provider (with the CPU provider for what it does not take) and no other.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, GRAPH_LEVELS[level])
    options.optimized_model_filepath = target
    providers: list[Any] = [(provider, provider_options or {})]
    if provider != "CPUExecutionProvider":
        providers.append("CPUExecutionProvider")
    ort.InferenceSession(source, options, providers=providers)
    return {**_facts(target), "optimized_for_provider": provider}


@_in_scratch_dir
def optimize_onnxscript(source: str, target: str) -> dict[str, Any]:
    """The onnxscript optimizer (constant folding, dead code, rewrite rules)."""
    import onnx
    import onnxscript.optimizer

    optimized = onnxscript.optimizer.optimize(onnx.load(source))
    onnx.save(optimized, target)
    return _facts(target)


@_in_scratch_dir
def optimize_transformers(source: str, target: str, model_type: str) -> dict[str, Any]:
    """onnxruntime.transformers.optimizer for BERT/GPT-2 style graphs (attention, LayerNorm, Gelu fusion)."""
    from onnxruntime.transformers.optimizer import optimize_model

    optimized = optimize_model(source, model_type=model_type, num_heads=0, hidden_size=0, opt_level=0)
    optimized.save_model_to_file(target)
    return _facts(target)


def _preprocessed(source: str, workdir: str, notes: list[str]) -> str:
    """quant_pre_process (shape inference + ORT basic optimization) ahead of any quantizer.

    ORT's symbolic shape inference gives up on some graphs (e.g. a Reshape whose target
    rank is computed); the quantizers still work with ONNX's own shape inference, so
    retry without it and say so in the row rather than lose the variant.
    """
    from onnxruntime.quantization.shape_inference import quant_pre_process

    path = str(Path(workdir) / "preprocessed.onnx")
    try:
        quant_pre_process(source, path, skip_symbolic_shape=False)
    except Exception as exc:  # noqa: BLE001 - any failure of the symbolic pass gets the fallback
        where = _raised_at(exc)
        notes.append(f"symbolic shape inference failed ({type(exc).__name__}{where}); pre-processed without it")
        quant_pre_process(source, path, skip_symbolic_shape=True)
    return path


def _raised_at(exc: BaseException) -> str:
    """' in FILE:LINE FUNCTION' for the innermost frame, to name an assertion with no message."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return ""
    code = tb.tb_frame.f_code
    return f" in {Path(code.co_filename).name}:{tb.tb_lineno} {code.co_name}"


@_in_scratch_dir
def quantize_int8_dynamic(source: str, target: str) -> dict[str, Any]:
    """Dynamic INT8: QInt8 weights, activations quantized at run time."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    notes: list[str] = []
    with tempfile.TemporaryDirectory() as workdir:
        quantize_dynamic(_preprocessed(source, workdir, notes), target, weight_type=QuantType.QInt8)
    return {**_facts(target), "preprocess_note": "; ".join(notes)}


class _Reader:
    """A calibration data reader over a list of input dicts."""

    def __init__(self, feeds: Sequence[dict[str, np.ndarray]]) -> None:
        self._feeds: Iterator[dict[str, np.ndarray]] = iter(feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:  # qdq_loss_debug iterates readers
        return self._feeds


@_in_scratch_dir
def quantize_int8_static(
    source: str, target: str, calibration: Sequence[dict[str, np.ndarray]], method: str
) -> dict[str, Any]:
    """Static INT8 in QDQ format: QUInt8 activations, QInt8 weights, calibrated on `calibration`."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    notes: list[str] = []
    with tempfile.TemporaryDirectory() as workdir:
        quantize_static(
            _preprocessed(source, workdir, notes),
            target,
            _Reader(calibration),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=getattr(CalibrationMethod, CALIBRATION_METHODS[method]),
        )
    return {**_facts(target), "preprocess_note": "; ".join(notes)}


@_in_scratch_dir
def convert_fp16(source: str, target: str) -> dict[str, Any]:
    """FP16 weights and compute, FP32 inputs and outputs (keep_io_types)."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    notes: list[str] = []
    with tempfile.TemporaryDirectory() as workdir:
        model = onnx.load(_preprocessed(source, workdir, notes))
    onnx.save(convert_float_to_float16(model, keep_io_types=True), target)
    return {**_facts(target), "preprocess_note": "; ".join(notes)}


@_in_scratch_dir
def quantize_int4_weight_only(source: str, target: str, block_size: int) -> dict[str, Any]:
    """INT4 weight-only: MatMul weights in 4-bit blocks (MatMulNBits, symmetric), activations stay FP32.

    Only MatMuls with a constant weight change; a model without one comes out as it went in.
    """
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    quantizer = MatMulNBitsQuantizer(onnx.load(source), bits=4, block_size=block_size, is_symmetric=True)
    quantizer.process()
    quantizer.model.save_model_to_file(target, use_external_data_format=False)
    return _facts(target)


@_in_scratch_dir
def worst_qdq_tensors(
    float_path: str, qdq_path: str, feeds: Sequence[dict[str, np.ndarray]], count: int = 5
) -> list[tuple[str, float]]:
    """The activations with the lowest signal-to-quantization-noise ratio (dB), worst first.

    Uses onnxruntime.quantization.qdq_loss_debug: both models are augmented to
    output their intermediate tensors, run on `feeds`, and matched by name.
    """
    from onnxruntime.quantization.qdq_loss_debug import (
        collect_activations,
        compute_activation_error,
        create_activation_matching,
        modify_model_output_intermediate_tensors,
    )

    with tempfile.TemporaryDirectory() as workdir:
        float_aug = str(Path(workdir) / "float_aug.onnx")
        qdq_aug = str(Path(workdir) / "qdq_aug.onnx")
        modify_model_output_intermediate_tensors(float_path, float_aug)
        modify_model_output_intermediate_tensors(qdq_path, qdq_aug)
        float_acts = collect_activations(float_aug, _Reader(feeds))
        qdq_acts = collect_activations(qdq_aug, _Reader(feeds))
    matched = create_activation_matching(qdq_acts, float_acts)
    errors = compute_activation_error(matched)
    scores = [(name, float(err["xmodel_err"])) for name, err in errors.items() if "xmodel_err" in err]
    finite = [(n, s) for n, s in scores if np.isfinite(s)]
    return sorted(finite, key=lambda item: item[1])[:count]


# -- the catalog ------------------------------------------------------------------------------

OPTIMIZE, QUANTIZE = "optimize", "quantize"  # the paths that judge a transform's variant
TRANSFORMER_TYPES = ("bert", "gpt2")  # tags that onnxruntime.transformers.optimizer has a model type for


@dataclass(frozen=True)
class TransformInputs:
    """What a transform's arguments are made of, in the pytest process."""

    spec: ModelSpec
    provider: ProviderRequest  # the provider a provider-specific file is built for
    calibration: Callable[[], Sequence[dict[str, np.ndarray]]]  # the model's calibration feeds


def _no_arguments(_: TransformInputs) -> tuple[Any, ...]:
    return ()


def _every_model(_: ModelSpec) -> bool:
    return True


def _every_run(_: Draw) -> bool:
    return True


@dataclass(frozen=True)
class Transform:
    """One transform as data: `function(source, target, *arguments(inputs))` runs in the onnx worker."""

    name: str  # the variant's name, the last part of its case ids
    kind: str  # OPTIMIZE: judged like FP32 against FP32; QUANTIZE: by the model's quantization policy
    function: Callable[..., dict[str, Any]]
    arguments: Callable[[TransformInputs], tuple[Any, ...]] = _no_arguments
    applies_to: Callable[[ModelSpec], bool] = _every_model
    selected: Callable[[Draw], bool] = _every_run  # in this run's selection (profile, calibrations)
    # ONNX Runtime's extended and layout optimizations run after the graph is partitioned among
    # providers and write kernels of the provider they optimized for (a CPU-optimized FusedConv does
    # not load on CUDA): such a variant is built for the provider that will run it.
    provider_specific: bool = False
    # The graph optimization level a session applies in place of this transform's file: a provider
    # that compiles nodes cannot save an optimized file (suite.runtime.providers.COMPILING_PROVIDERS),
    # so on such a provider the variant is the session's own optimization, online.
    session_level: str | None = None
    localizable: bool = False  # a QDQ file: a failing row names its worst tensors (worst_qdq_tensors)


def _ort_level(level: str) -> Transform:
    return Transform(
        f"opt_ort_{level}",
        OPTIMIZE,
        optimize_ort,
        lambda given: (level, given.provider.name, given.provider.option_dict()),
        provider_specific=level != "basic",
        session_level=level,
    )


def _model_type(spec: ModelSpec) -> str | None:
    return next((t for t in TRANSFORMER_TYPES if t in spec.tags), None)


def _static(method: str) -> Transform:
    return Transform(
        f"quant_int8_static_{method}",
        QUANTIZE,
        quantize_int8_static,
        lambda given: (given.calibration(), method),
        selected=lambda draw: method in draw.calibrations,
        localizable=True,
    )


TRANSFORMS: tuple[Transform, ...] = (
    *(_ort_level(level) for level in GRAPH_LEVELS),
    Transform("opt_onnxscript", OPTIMIZE, optimize_onnxscript),
    Transform(
        "opt_transformers",
        OPTIMIZE,
        optimize_transformers,
        lambda given: (_model_type(given.spec),),
        applies_to=lambda spec: _model_type(spec) is not None,
    ),
    Transform("quant_int8_dynamic", QUANTIZE, quantize_int8_dynamic),
    *(_static(method) for method in CALIBRATION_METHODS),
    Transform("quant_fp16", QUANTIZE, convert_fp16),
    Transform(
        "quant_int4_weight_only",
        QUANTIZE,
        quantize_int4_weight_only,
        lambda _: (32,),  # block size
        selected=lambda draw: draw.profile == "full",
    ),
)


def transform_named(name: str) -> Transform:
    for declared in TRANSFORMS:
        if declared.name == name:
            return declared
    raise KeyError(f"unknown transform {name!r}; declared: {', '.join(t.name for t in TRANSFORMS)}")


def transforms_for(kind: str, draw: Draw) -> Callable[[ModelSpec], list[str]]:
    """The variants of `kind` each model gets in this run, in declaration order."""
    chosen = [t for t in TRANSFORMS if t.kind == kind and t.selected(draw)]
    return lambda spec: [t.name for t in chosen if t.applies_to(spec)]
