"""Keras models in the TF worker (suite.workers.tf_process): build, digest, eager outputs,
eager latency and export (tf2onnx, through suite.exporters)."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from suite.exporters import ExportRequest, get_exporter
from suite.exporters.base import ExportResult
from suite.runtime.timing import TimingPlan, sample, summarize
from suite.workers import models

_MODEL_CACHE: OrderedDict[str, Any] = OrderedDict()
_MODEL_CACHE_SIZE = 3  # cases arrive grouped by model; a few keep memory flat


class ModelError(Exception):
    """The eager Keras model itself failed (build or forward): not an exporter problem.

    The caller matches on the class name "ModelError", as for suite.workers.torch_models'.
    """


def _build(name: str) -> Any:
    if name in _MODEL_CACHE:
        _MODEL_CACHE.move_to_end(name)
        return _MODEL_CACHE[name]
    spec = models.get(name)
    if spec.framework != "keras":
        raise ModelError(f"{name} is a {spec.framework} model; the TF worker builds keras models only")
    import keras

    # Python, numpy, TF and Keras seeds: initializers without an explicit seed draw
    # from these, so a model's weights are the same in every process.
    keras.utils.set_random_seed(spec.seed)
    try:
        model = spec.builder()
    except Exception as exc:
        raise ModelError(f"building {name} failed: {type(exc).__name__}: {exc}") from exc
    _MODEL_CACHE[name] = model
    while len(_MODEL_CACHE) > _MODEL_CACHE_SIZE:
        _MODEL_CACHE.popitem(last=False)
    return model


def weights_digest(name: str) -> str:
    """sha256 over the model's variables (trainable and not), in model.weights order.

    Each variable contributes its position, dtype, shape and bytes, not its
    name: Keras numbers auto-named layers per process ("dense_3"), so names
    would depend on what was built before.
    """
    model = _build(name)
    digest = hashlib.sha256()
    for index, variable in enumerate(model.weights):
        array = np.ascontiguousarray(np.asarray(variable.numpy()))
        digest.update(f"{index}:{array.dtype.str}:{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:16]


def _keras_call(name: str, inputs: dict[str, np.ndarray]) -> Callable[[], Any]:
    """The Keras model's eager call on `inputs` (training=False), ready to call."""
    import tensorflow as tf

    from suite.exporters.tf2onnx_keras import call_keras

    spec = models.get(name)
    model = _build(name)
    values = [tf.constant(np.ascontiguousarray(inputs[n])) for n in spec.input_names()]
    return lambda: call_keras(spec, model, values)


def eager_outputs(name: str, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The Keras model's flattened outputs on `inputs`, in TF eager mode with training=False.

    Raises:
        ModelError: the model's call raised.
    """
    from suite.exporters.tf2onnx_keras import flatten_outputs

    call = _keras_call(name, inputs)
    try:
        result = call()
    except Exception as exc:
        raise ModelError(f"{name} call raised {type(exc).__name__}: {exc}") from exc
    return [np.asarray(t) for t in flatten_outputs(result)]


def eager_outputs_float64(name: str, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The Keras model's outputs in float64 on the same inputs: the exact side of its float32 floor.

    The builder runs again with float64 as Keras' default float type, and takes the float32
    model's weights widened (so nothing a builder calibrates on data can differ).

    Raises:
        ModelError: the model cannot be built or called in float64; the case falls back to
            its static tolerance.
    """
    import keras
    import tensorflow as tf

    from suite.exporters.tf2onnx_keras import call_keras, flatten_outputs
    from suite.judge.floor import widened

    spec = models.get(name)
    model32 = _build(name)
    previous = keras.config.floatx(), keras.config.dtype_policy()
    try:
        # Both: Keras 3 layers take the dtype policy, which set_floatx alone leaves at float32.
        keras.config.set_floatx("float64")
        keras.config.set_dtype_policy("float64")
        keras.utils.set_random_seed(spec.seed)
        model64 = spec.builder()
        model64.set_weights([widened(np.asarray(w)) for w in model32.get_weights()])
        values = [tf.constant(widened(np.ascontiguousarray(inputs[n]))) for n in spec.input_names()]
        result = call_keras(spec, model64, values)
    except Exception as exc:
        raise ModelError(f"{name} has no float64 call: {type(exc).__name__}: {exc}") from exc
    finally:
        keras.config.set_floatx(previous[0])
        keras.config.set_dtype_policy(previous[1])
    return [np.asarray(t) for t in flatten_outputs(result)]


def eager_latency(
    name: str, inputs: dict[str, np.ndarray], threads: int, plan: TimingPlan, device: str = "cpu"
) -> dict[str, Any]:
    """TF eager call latency on `inputs`: the latency stage's baseline for Keras models.

    TF's thread pools were fixed when the worker started (WorkerSettings); the
    figures carry what TF reports, which may differ from `threads` if it was not set.
    """
    import tensorflow as tf

    samples = sample(_keras_call(name, inputs), plan)
    return {
        **summarize(samples).columns(),
        "threads": tf.config.threading.get_intra_op_parallelism_threads() or "tf default",
        "interop_threads": tf.config.threading.get_inter_op_parallelism_threads() or "tf default",
        # The TF worker keeps to the CPU (the GPU machines have no TensorFlow; and it never shares one).
        "device": "cpu" if device == "cpu" else "cpu (the Keras baseline runs on the CPU)",
    }


def export(request: ExportRequest, inputs: dict[str, np.ndarray], output_count: int) -> ExportResult:
    """Export the Keras model on `inputs` as asked; the file lands at request.path."""
    spec = models.get(request.model)
    model = _build(request.model)
    example = {k: np.ascontiguousarray(v) for k, v in inputs.items()}
    return get_exporter(request.exporter).export(spec, model, example, output_count, request)
