"""onnx2tf in the TF worker (suite.workers.tf_process): an ONNX file to a TensorFlow SavedModel and
float32 / float16 TFLite files, and runs of both. Its failures come back as Onnx2tfError, whose
first line the parent reads (suite.paths.onnx2tf.refused_op, and the pipeline's refusal phrases).

onnx2tf (the maintained ONNX -> TF converter) writes channels-last models: every graph input of
rank 3, 4 or 5 becomes NWC / NHWC / NDHWC unless told otherwise, and outputs it computed in
that layout stay so. The conversion reports both, per input and output, and the runs here take
and give arrays in the TF model's own layout: the parent transposes (suite.judge.layout).

Nothing is downloaded: onnx2tf fetches a calibration sample from GitHub at start for image-like
inputs unless the file is in the working folder; the suite hands it a seeded array instead.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from suite.workers.onnx_tf import NAMES_SIDECAR

# onnx2tf's calibration sample: 20 images of 128x128x3 in [0, 1), as the file it would fetch.
CALIBRATION_SHAPE = (20, 128, 128, 3)
CALIBRATION_SEED = 0
# The file stem onnx2tf names its TFLite files after (<stem>_float32.tflite, <stem>_float16.tflite).
_STEM = "model"
TFLITE_FILES = {"float32": f"{_STEM}_float32.tflite", "float16": f"{_STEM}_float16.tflite"}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Onnx2tfError(RuntimeError):
    """onnx2tf stopped: its own ERROR lines (it prints them and calls sys.exit), or the exception."""


def calibration_sample() -> np.ndarray:
    """The seeded stand-in for onnx2tf's downloaded calibration images."""
    return np.random.default_rng(CALIBRATION_SEED).random(CALIBRATION_SHAPE, dtype=np.float32)


def _import_onnx2tf() -> Any:
    """onnx2tf, with its calibration download replaced by the seeded sample and its HTTP client
    refusing any request (a conversion that still tried would fail, not fetch)."""
    import onnx2tf
    import onnx2tf.onnx2tf as converter_module
    from onnx2tf.utils import common_functions

    common_functions.download_test_image_data = calibration_sample
    converter_module.download_test_image_data = calibration_sample
    for module in (common_functions, converter_module):
        if hasattr(module, "requests"):
            module.requests = _NoNetwork()
    return onnx2tf


def _environment_first_on_path() -> None:
    """This Python's scripts folder first on PATH: onnx2tf runs `onnxsim` as a command, and a worker
    started as .venv/bin/python (make, CI) does not have the environment's scripts on PATH."""
    scripts = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != scripts:
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


class _NoNetwork:
    """Stands in for `requests` inside onnx2tf: nothing is fetched at run time."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"onnx2tf tried the network (requests.{name}); zoo-suite runs it offline")


def onnx2tf_convert(
    onnx_path: str, out_dir: str, fixed_shapes: Mapping[str, list[int]] | None = None
) -> dict[str, Any]:
    """Convert the ONNX file with onnx2tf's defaults into `out_dir`: a SavedModel there, and
    model_float32.tflite / model_float16.tflite beside it.

    onnx2tf may rewrite the file it reads (shape inference, saved in place), so it reads a copy.
    As onnx2tf's users run it: it simplifies the graph with onnxsim first (its `onnxsim` command,
    found on PATH: this environment's is put first), which folds the shape arithmetic of a dynamic
    export that onnx2tf cannot convert otherwise (measured: deeplabv3's Resize sizes).
    `fixed_shapes` ({input: dims}) is onnx2tf's own advice for a dynamic input it cannot convert:
    overwrite_input_shape (-ois), every dim fixed; the copy's input dims are fixed here too, so the
    option holds even where onnxsim does not run.

    Returns:
        {"seconds", "inputs": [{"name": ONNX name, "tf_name": signature key, "perm": ONNX -> TF axes}],
        "outputs": [{"name", "tf_name", "channels_last": onnx2tf's own flag}], "tflite": {precision: file}}.

    Raises:
        Onnx2tfError: onnx2tf refused or failed; the message carries its ERROR lines.
    """
    import onnx

    onnx2tf = _import_onnx2tf()
    _environment_first_on_path()
    out = Path(out_dir)
    work = out / "_input"
    work.mkdir(parents=True, exist_ok=True)
    source = work / f"{_STEM}.onnx"
    shutil.copyfile(onnx_path, source)
    if fixed_shapes:
        _fix_input_dims(source, fixed_shapes)
    graph = onnx.load(str(source), load_external_data=False).graph
    initialized = {t.name for t in graph.initializer}
    onnx_inputs = [v for v in graph.input if v.name not in initialized]
    log = io.StringIO()
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(log):
            model = onnx2tf.convert(
                input_onnx_file_path=str(source),
                output_folder_path=str(out),
                non_verbose=True,
                copy_onnx_input_output_names_to_tflite=True,
                overwrite_input_shape=_as_option(fixed_shapes),
            )
    except SystemExit:  # onnx2tf prints its ERROR lines, then sys.exit(1)
        raise Onnx2tfError(_error_lines(log.getvalue()) or "onnx2tf exited without an error message") from None
    except Exception as exc:  # onnx2tf re-raised: its log's refusal, if it printed one, says more
        # onnx2tf marks the exception with the node it was converting.
        node = getattr(exc, "onnx_op_name", None)
        lines = _error_lines(log.getvalue(), raised=f"{type(exc).__name__}: {exc}", node=node)
        raise Onnx2tfError(lines) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    seconds = time.perf_counter() - start
    if model is None or not Path(out, "saved_model.pb").is_file():
        raise Onnx2tfError(_error_lines(log.getvalue()) or "onnx2tf wrote no SavedModel")
    layouts: Mapping[str, bool] = getattr(model, "onnx_output_layouts", {}) or {}
    inputs = [
        {"name": v.name, "tf_name": t.name.split(":")[0], "perm": _channels_last_perm(v, tuple(t.shape))}
        for v, t in zip(onnx_inputs, model.inputs, strict=True)
    ]
    outputs = [
        {"name": o.name, "tf_name": tf_name, "channels_last": bool(layouts.get(o.name, False))}
        for o, tf_name in zip(graph.output, model.output_names, strict=True)
    ]
    # tf2onnx_from_saved_model restores the ONNX input names from this sidecar, as for onnx-tf's.
    sidecar = out / NAMES_SIDECAR
    sidecar.parent.mkdir(parents=True, exist_ok=True)
    sidecar.write_text(json.dumps({"inputs": [v.name for v in onnx_inputs]}))
    tflite = {precision: name for precision, name in TFLITE_FILES.items() if (out / name).is_file()}
    return {"seconds": seconds, "inputs": inputs, "outputs": outputs, "tflite": tflite}


def _fix_input_dims(path: Path, fixed_shapes: Mapping[str, list[int]]) -> None:
    """The ONNX file at `path` with the named inputs' dims fixed, shapes inferred again, saved in place."""
    import onnx

    model = onnx.load(str(path))
    for value in model.graph.input:
        if value.name in fixed_shapes:
            for dim, size in zip(value.type.tensor_type.shape.dim, fixed_shapes[value.name], strict=True):
                dim.Clear()
                dim.dim_value = int(size)
    del model.graph.value_info[:]  # inferred again from the fixed inputs
    onnx.save(onnx.shape_inference.infer_shapes(model), str(path))


def _as_option(fixed_shapes: Mapping[str, list[int]] | None) -> list[str] | None:
    """{"x": [2, 3, 64, 64]} as onnx2tf's overwrite_input_shape: ["x:2,3,64,64"]."""
    if not fixed_shapes:
        return None
    return [f"{name}:{','.join(str(d) for d in dims)}" for name, dims in fixed_shapes.items()]


def _channels_last_perm(value: Any, tf_shape: tuple[int | None, ...]) -> list[int]:
    """The axes onnx2tf's model reads the ONNX input in: channels-last for ranks 3 to 5 (its
    default for every input), checked against the Keras input's static dims."""
    rank = len(value.type.tensor_type.shape.dim)
    identity = list(range(rank))
    if rank not in (3, 4, 5) or len(tf_shape) != rank:
        return identity
    last = [0, *range(2, rank), 1]
    dims = [d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim]
    moved = [dims[axis] for axis in last]
    fits = all(a is None or b is None or a == b for a, b in zip(moved, tf_shape, strict=True))
    return last if fits else identity


def _error_lines(log: str, raised: str = "", node: str | None = None) -> str:
    """onnx2tf's error, summary first: the op it has no converter for, else the exception it raised
    (`raised`) or its trace ends with, with the node it was converting; then its ERROR lines (colour
    codes dropped, its advice to a command-line user left out)."""
    text = _ANSI.sub("", log)
    lines = [line.rstrip() for line in text.splitlines()]
    errors = [line.removeprefix("ERROR:").strip() for line in lines if line.startswith("ERROR:")]
    advice = ("Read this and deal with it", "Alternatively, if the input OP", "If the input OP of ONNX", "Also, for")
    errors = [line for line in errors if line and not line.startswith(advice)]
    refused = next((line for line in errors if "OP is not yet implemented" in line), None)
    traced = [line for line in lines if _RAISED.match(line)]
    logged = (line.split(":", 1)[1].strip() for line in errors if line.startswith("onnx_op_name:"))
    node = next(logged, None) or node
    summary = refused or raised or (traced[-1] if traced else (errors[0] if errors else ""))
    if summary and node:
        summary += f" (at node {node})"
    return "\n".join([summary, *errors]) if summary else ""


_RAISED = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b(:.*)?$")


def saved_model_run(saved_dir: str, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The SavedModel's serving signature on one feed ({signature key: array in its layout}):
    {output key: array}, TF's own dict (the parent orders it by the conversion's output names)."""
    import tensorflow as tf

    function = _loaded_signature(saved_dir)
    produced = function(**{k: tf.constant(np.ascontiguousarray(v)) for k, v in feeds.items()})
    return {name: np.asarray(value) for name, value in produced.items()}


# The last loaded SavedModel signature: a case runs it at every probe.
_SIGNATURES: dict[str, Any] = {}  # {"<folder>@<mtime>": signature}


def _loaded_signature(saved_dir: str) -> Any:
    import tensorflow as tf

    key = f"{saved_dir}@{Path(saved_dir, 'saved_model.pb').stat().st_mtime_ns}"
    if key not in _SIGNATURES:
        _SIGNATURES.clear()
        _SIGNATURES[key] = tf.saved_model.load(saved_dir).signatures["serving_default"]
    return _SIGNATURES[key]


def tflite_run(tflite_path: str, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A .tflite file on one feed with the LiteRT interpreter's signature runner (which resizes
    dynamic inputs to the feed): {output key: array}."""
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=tflite_path).get_signature_runner()
    produced = runner(**{k: np.ascontiguousarray(v) for k, v in feeds.items()})
    return {name: np.array(value) for name, value in produced.items()}
