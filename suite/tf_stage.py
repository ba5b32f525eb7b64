"""TensorFlow-side work: onnx-tf, SavedModel, tf2onnx, and Keras models (build, digest, eager, export).

These functions run inside the TF worker process (suite.isolate.Worker with
initializer suite.tf_stage.init_worker), never in the pytest process and
never beside torch: importing TensorFlow and torch into one process can
segfault. Nothing here imports torch, directly or through suite.torch_stage.
Arguments and results are plain, picklable data (paths as str, numpy arrays,
small dicts and dataclasses).

Only parse_onnx_tf_failure and onnx_tf_failure_summary are meant for the
parent process: they are pure text work and import nothing heavy.

Keras flavour: the worker sets TF_USE_LEGACY_KERAS=1 before importing
TensorFlow, so ``tf.keras`` is tf_keras (Keras 2). onnx-tf needs that, not
tf2onnx: its LSTM/GRU/RNN handlers use tf.compat.v1.nn.rnn_cell, which on
TF 2.16+ exists only with Keras 2 (with Keras 3 every LSTM fails: "`LSTMStateTuple`
is not available with Keras 3"). The zoo's Keras models do not use tf.keras:
their builders ``import keras``, which stays Keras 3 either way (weights digests
measured equal with and without the variable). tf2onnx does not need Keras 2
either: its from_keras traces through Keras 2 internals, but the exporter here
(suite.exporters.tf2onnx_keras) hands tf2onnx a tf.function of the model
(measured on Keras 3: LSTM, MobileNetV2 and an MLP convert; ORT matches TF eager
within 3e-5).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from suite.exporters import ExportRequest, get_exporter
from suite.exporters.base import ExportResult
from suite.timing import TimingPlan, sample, summarize
from suite.worker_settings import WorkerSettings
from zoo import registry

_MODEL_CACHE: OrderedDict[str, Any] = OrderedDict()
_MODEL_CACHE_SIZE = 3  # cases arrive grouped by model; a few keep memory flat
# The last prepared onnx-tf representation: the tf path runs onnx_tf_run and then
# onnx_tf_export_saved_model on the same file, so keep one to skip a second prepare.
_REP_CACHE: dict[tuple[str, int, int], _Prepared] = {}

# Set before TensorFlow is imported. 2 hides C++ INFO and WARNING lines; a few
# absl lines printed before absl::InitializeLog (oneDNN, "no cuda drivers") still
# appear once per process: no environment variable silences them in TF 2.21.
_QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "AUTOGRAPH_VERBOSITY": "0"}
_NAMES_SIDECAR = "assets.extra/onnx_io.json"


class ModelError(Exception):
    """The eager Keras model itself failed (build or forward): not an exporter problem.

    The caller matches on the class name "ModelError", as for suite.torch_stage's.
    """


# -- worker start ---------------------------------------------------------------------------


def init_worker(settings: WorkerSettings) -> None:
    """Worker initializer: quiet TensorFlow, import it with the run's thread pools, and load the zoo registry."""
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)
    os.environ["TF_USE_LEGACY_KERAS"] = "1"  # before TF is imported; see the module docstring
    import tensorflow as tf  # noqa: TID251 - this is the TF worker

    # Thread pools are fixed before TF runs its first op; the latency stage records them.
    if settings.intra_op_threads:
        tf.config.threading.set_intra_op_parallelism_threads(settings.intra_op_threads)
        tf.config.threading.set_inter_op_parallelism_threads(settings.inter_op_threads or 1)
    tf.get_logger().setLevel(logging.ERROR)
    _quiet_absl()
    # onnx-tf's pooling handlers turn absl's verbosity back to INFO on every trace,
    # including the one inside SavedModel writing; drop absl's INFO records here.
    logging.getLogger("absl").addFilter(lambda record: record.levelno >= logging.WARNING)
    for name in ("tf2onnx", "onnx-tf", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for module in ("tensorflow", "keras", "tf_keras", "tf2onnx", "onnx_tf", "tensorflow_probability"):
        warnings.filterwarnings("ignore", module=module)
    registry.set_weights_dir(settings.weights_dir)
    registry.load_builtin()
    registry.load_modules(settings.user_modules)


# -- onnx-tf ------------------------------------------------------------------------------------


@dataclass
class _Prepared:
    """onnx-tf's TensorflowRep and the input renames it needed."""

    rep: Any
    input_names: tuple[str, ...]  # the ONNX file's graph input names
    feed_names: dict[str, str]  # original input name -> name onnx-tf was given (differs only when renamed)


def _prepare(onnx_path: str) -> _Prepared:
    """onnx-tf's representation of the file (the last one is reused while the file is unchanged).

    onnx-tf passes graph inputs to a tf.function as keyword arguments, and TF
    replaces names that are not Python identifiers ("input.1" becomes "input_1")
    while onnx-tf still looks the tensor up under the original name: a KeyError
    for every exporter that names inputs like "input.1". Such inputs are renamed
    in the in-memory copy handed to onnx-tf (the file is not touched) and fed
    under their new names.
    """
    import onnx

    from suite.compat.onnx_tf_compat import import_onnx_tf
    from suite.exporters.tf2onnx_keras import rename_graph_tensors

    stat = Path(onnx_path).stat()
    key = (str(Path(onnx_path).resolve()), stat.st_mtime_ns, stat.st_size)
    if key in _REP_CACHE:
        return _REP_CACHE[key]
    backend = import_onnx_tf()
    model = onnx.load(onnx_path)
    initialized = {t.name for t in model.graph.initializer}
    input_names = tuple(v.name for v in model.graph.input if v.name not in initialized)
    feed_names = _identifier_names(input_names)
    rename_graph_tensors(model.graph, feed_names)
    rep = backend.prepare(model, device="CPU", strict=True, logging_level="ERROR")
    prepared = _Prepared(rep, input_names, {name: feed_names.get(name, name) for name in input_names})
    _REP_CACHE.clear()
    _REP_CACHE[key] = prepared
    return prepared


def _identifier_names(names: Sequence[str]) -> dict[str, str]:
    """{name: a Python identifier} for the names that are not identifiers, unique among all names."""
    taken = set(names)
    renames = {}
    for name in names:
        if name.isidentifier():
            continue
        new = re.sub(r"\W", "_", name)
        new = new if new[:1].isalpha() or new[:1] == "_" else f"_{new}"
        while new in taken:
            new += "_"
        taken.add(new)
        renames[name] = new
    return renames


def onnx_tf_run(onnx_path: str, inputs_by_size: Sequence[Mapping[str, np.ndarray]]) -> list[list[np.ndarray]]:
    """Run the ONNX file in TensorFlow through onnx-tf at each input set.

    Prepares once; onnx-tf builds the TF graph lazily, so an unsupported op
    raises on the first run. Outputs come in graph output order.

    Raises:
        Whatever onnx-tf raises, unchanged (see parse_onnx_tf_failure).
    """
    prepared = _prepare(onnx_path)
    return [_run_rep(prepared, inputs) for inputs in inputs_by_size]


def _run_rep(prepared: _Prepared, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    feeds = {prepared.feed_names.get(name, name): np.ascontiguousarray(value) for name, value in inputs.items()}
    try:
        return [np.asarray(value) for value in prepared.rep.run(feeds)]
    finally:
        _quiet_absl()


def _quiet_absl() -> None:
    # onnx-tf's pooling handlers call absl.logging.set_verbosity(INFO) on every trace,
    # after which SavedModel writing logs a handful of INFO lines per model.
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.ERROR)


def onnx_tf_run_sizes(onnx_path: str, inputs_by_size: Sequence[Mapping[str, np.ndarray]]) -> list[tuple[Any, ...]]:
    """onnx_tf_run, but a plain failure at a later input set is returned instead of raised.

    Returns one entry per input set: ("ok", output_names, outputs) or
    ("error", exception type name, message).

    Raises:
        Whatever onnx-tf raises at the first input set, and any failure that
        parse_onnx_tf_failure recognises as onnx-tf refusing an op (at any set).
    """
    prepared = _prepare(onnx_path)
    names = tuple(prepared.rep.outputs)
    results: list[tuple[Any, ...]] = []
    for index, inputs in enumerate(inputs_by_size):
        try:
            results.append(("ok", names, _run_rep(prepared, inputs)))
        except Exception as exc:
            if index == 0 or parse_onnx_tf_failure(str(exc)) is not None:
                raise
            results.append(("error", type(exc).__name__, str(exc)))
    return results


def onnx_tf_export_saved_model(onnx_path: str, saved_model_dir: str) -> None:
    """onnx-tf's TensorflowRep.export_graph: the ONNX file as a TF SavedModel in `saved_model_dir`.

    Dims the ONNX graph leaves symbolic stay None in the SavedModel signature.
    The original graph input names go to assets.extra/onnx_io.json (the
    SavedModel's place for user files) so tf2onnx_from_saved_model can restore them.
    """
    prepared = _prepare(onnx_path)
    _quiet_absl()
    prepared.rep.export_graph(saved_model_dir)
    sidecar = Path(saved_model_dir, _NAMES_SIDECAR)
    sidecar.parent.mkdir(parents=True, exist_ok=True)
    sidecar.write_text(json.dumps({"inputs": list(prepared.input_names), "feeds": prepared.feed_names}))


# Prose lead-ins of onnx-tf refusals that do not start with the op type.
_PROSE_OPS = {
    "split to sequence": "SplitToSequence",
    "concat from sequence": "ConcatFromSequence",
    "transposed convolution": "ConvTranspose",
    "maxpoolwithargmax": "MaxPool",
}
_POOLING_TYPES = {"MAX": "MaxPool", "MAX_WITH_ARGMAX": "MaxPool", "AVG": "AveragePool", "LP": "LpPool"}
# handlers/handler.py and common/exception.py (OpUnimplementedException):
#   "ReduceMean version 18 is not implemented."   "Foo version 1 in domain `x` is not implemented."
_VERSION_RE = re.compile(r"\b([A-Za-z_]\w*) version (\d+)(?: in domain `[^`]*`)? is not implemented")
# backend.py, no handler for the op type at all: "Foo is not implemented." (the whole message)
_NO_HANDLER_RE = re.compile(r"^(?:\w+: )?([A-Za-z_]\w*) is not implemented\.?$")
# common/exception.py OpUnsupportedException / DtypeNotCastException and handler RuntimeErrors:
#   "BatchNormalization with training_mode=1 is not supported in Tensorflow."
#   "MatMul input x with data type 'uint64' is not supported in Tensorflow. Please set auto_cast ..."
#   "Concat from sequence with new_axis=1 not supported in Tensorflow."
#   "Split to sequence with scalar split is not supported due to API limitations."
#   "Transposed convolution for 4d is not implemented in Tensorflow"
_UNSUPPORTED_RE = re.compile(
    r"^(?:\w+: )?(.+?) (?:(?:is|are) )?not (?:supported|implemented) (?:in tensorflow|due to api limitations)",
    re.IGNORECASE,
)
# handlers/backend/dilated_pooling.py: "4-D MAX pooling is not supported."
_POOLING_RE = re.compile(r"\b\d+-D (MAX_WITH_ARGMAX|MAX|AVG|LP) pooling is not supported")


def parse_onnx_tf_failure(message: str) -> tuple[str, int] | None:
    """(op_type, version) from onnx-tf's refusal of an op, or None for any other failure.

    The version is the op version onnx-tf named (the handler's since-version
    the model needs). Refusals that name no version (no handler for the op at
    all, or an unsupported attribute or dtype of a supported op) give version 0.
    Pure text work: imports only onnx (for the list of op names), never TensorFlow.
    """
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    for line in lines:
        match = _VERSION_RE.search(line)
        if match:
            return match.group(1), int(match.group(2))
    for line in lines:
        match = _NO_HANDLER_RE.match(line)
        if match and _is_onnx_op(match.group(1)):
            return match.group(1), 0
        match = _POOLING_RE.search(line)
        if match:
            return _POOLING_TYPES[match.group(1)], 0
        match = _UNSUPPORTED_RE.match(line)
        if match:
            op = _op_in_prose(match.group(1))
            if op is not None:
                return op, 0
    return None


def onnx_tf_failure_summary(message: str) -> str:
    """The line of an onnx-tf failure that says what went wrong.

    onnx-tf converts inside a tf.function, so TF's autograph rewrites its
    exceptions: the message opens with "in user code:" and a list of frames,
    and the original "Type: text" line comes last. That line (without its
    indentation) is returned; a message without frames comes back as its first line.
    """
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    if lines[0] != "in user code:":
        return lines[0]
    frame = re.compile(r'^File ".*", line \d+')
    frame_rows = [i for i, line in enumerate(lines) if frame.match(line)]
    if not frame_rows:
        return lines[1] if len(lines) > 1 else lines[0]
    # Each frame is a "File ..." line and its source line; the exception follows the last one.
    tail = lines[frame_rows[-1] + 2 :]
    return tail[0] if tail else lines[-1]


def _op_in_prose(text: str) -> str | None:
    lowered = text.lower()
    for lead, op in _PROSE_OPS.items():
        if lowered.startswith(lead):
            return op
    for token in re.findall(r"[A-Za-z_]\w*", text):
        if token[0].isupper() and _is_onnx_op(token):
            return token
    return None


def _is_onnx_op(name: str) -> bool:
    from onnx import defs

    return defs.has(name)


# -- tf2onnx on a SavedModel ----------------------------------------------------------------------


def tf2onnx_from_saved_model(saved_model_dir: str, output_path: str, opset: int) -> dict[str, Any]:
    """Convert a SavedModel back to ONNX with tf2onnx, in this worker, at `opset`.

    The same calls tf2onnx's command line makes for ``--saved-model DIR``: tf_loader loads and
    freezes the SavedModel (resetting TF's default graph after itself), then the converter runs
    with the command line's defaults (default targets, no custom ops, stop at the first op it
    cannot convert). tf2onnx's public from_graph_def would re-freeze the frozen graph and
    convert with continue_on_error=True, writing files with unconverted ops instead of naming
    the op it refused; so the converter is called as the command line calls it. In this worker
    rather than a `python -m tf2onnx.convert` subprocess, which re-imported TensorFlow for every
    case (6.4 s on average); a crash still costs only this worker, which restarts.

    Graph input names: tf2onnx names the inputs after the SavedModel signature,
    which onnx-tf keys by the ONNX input names, so plain names come back as they
    were. Where they do not (a ":0" suffix, or a name TF had to sanitize, e.g.
    "input.1" -> "input_1"), the produced file is edited so its inputs carry the
    original names again (taken from the sidecar onnx_tf_export_saved_model
    writes). Names that cannot be matched are returned in "input_names"
    ({original: name in the file}) so the caller can feed by them.

    Returns:
        {"opset": opset written, "seconds": conversion time,
        "input_names": {original: name in file} for unrestored names (empty when all match),
        "renamed": {tf2onnx's name: restored original}}.
    """
    import onnx
    import tensorflow as tf  # noqa: TID251 - this is the TF worker
    from tf2onnx import constants, tf_loader
    from tf2onnx.convert import _convert_common

    from suite.exporters.tf2onnx_keras import rename_graph_tensors

    start = time.perf_counter()
    graph_def, inputs, outputs, tables, to_rename = tf_loader.from_saved_model(
        saved_model_dir, None, None, return_initialized_tables=True, return_tensors_to_rename=True
    )
    with tf.device("/cpu:0"):
        model, _ = _convert_common(
            graph_def,
            name=saved_model_dir,
            continue_on_error=False,
            target=list(constants.DEFAULT_TARGET),
            opset=opset,
            custom_op_handlers={},
            extra_opset=[],
            input_names=inputs,
            output_names=outputs,
            tensors_to_rename=to_rename,
            initialized_tables=tables,
            output_path=output_path,
        )
    seconds = time.perf_counter() - start
    sidecar = Path(saved_model_dir, _NAMES_SIDECAR)
    original = json.loads(sidecar.read_text())["inputs"] if sidecar.is_file() else None
    renames, unmatched = restore_input_names([v.name for v in model.graph.input], original)
    if renames:
        rename_graph_tensors(model.graph, renames)
        onnx.save(model, output_path)
    written = next((op.version for op in model.opset_import if op.domain in ("", "ai.onnx")), None)
    return {"opset": written, "seconds": seconds, "input_names": unmatched, "renamed": renames}


def restore_input_names(
    produced: Sequence[str], original: Sequence[str] | None
) -> tuple[dict[str, str], dict[str, str]]:
    """Match a converter's graph input names back to the original ones.

    Names match when equal after dropping a ":N" suffix and every character that
    is not a letter or digit ("input.1" ~ "input_1:0"). With `original` None,
    only ":N" suffixes are dropped.

    Returns:
        (renames {produced: original} to apply, {original: produced} for an input matched
        only by elimination, to be fed by its produced name). Originals matched neither
        way are left out; ONNX Runtime then names the missing input itself.
    """
    if original is None:
        stripped = {p: re.sub(r":\d+$", "", p) for p in produced}
        return {p: s for p, s in stripped.items() if s != p and s not in produced}, {}
    renames: dict[str, str] = {}
    missing: list[str] = []
    free = [p for p in produced if p not in original]
    for name in original:
        if name in produced:
            continue
        hits = [p for p in free if _canonical(p) == _canonical(name)]
        if len(hits) != 1:
            missing.append(name)
            continue
        free.remove(hits[0])
        renames[hits[0]] = name
    # One name left on each side is the same input under a name we cannot decode.
    unmatched = {missing[0]: free[0]} if len(missing) == 1 and len(free) == 1 else {}
    return renames, unmatched


def _canonical(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", re.sub(r":\d+$", "", name)).lower()


# -- Keras models ---------------------------------------------------------------------------------


def _build(name: str) -> Any:
    if name in _MODEL_CACHE:
        _MODEL_CACHE.move_to_end(name)
        return _MODEL_CACHE[name]
    spec = registry.get(name)
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
    import tensorflow as tf  # noqa: TID251 - this is the TF worker

    from suite.exporters.tf2onnx_keras import call_keras

    spec = registry.get(name)
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
    import tensorflow as tf  # noqa: TID251 - this is the TF worker

    from suite.exporters.tf2onnx_keras import call_keras, flatten_outputs
    from suite.floor import widened

    spec = registry.get(name)
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
    import tensorflow as tf  # noqa: TID251 - this is the TF worker

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
    spec = registry.get(request.model)
    model = _build(request.model)
    example = {k: np.ascontiguousarray(v) for k, v in inputs.items()}
    return get_exporter(request.exporter).export(spec, model, example, output_count, request)
