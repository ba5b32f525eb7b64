"""onnx-tf in the TF worker (suite.workers.tf_process): run an ONNX file in TensorFlow, and
export it as a SavedModel. Its failures are read in the parent by suite.workers.onnx_tf_errors."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from suite.workers.onnx_tf_errors import parse_onnx_tf_failure
from suite.workers.tf_process import quiet_absl

# The last prepared onnx-tf representation: the tf path runs onnx_tf_run and then
# onnx_tf_export_saved_model on the same file, so keep one to skip a second prepare.
_REP_CACHE: dict[tuple[str, int, int], _Prepared] = {}
# Where the SavedModel keeps the ONNX file's input names (read back by tf2onnx_convert).
NAMES_SIDECAR = "assets.extra/onnx_io.json"


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

    from suite.exporters.tf2onnx_keras import rename_graph_tensors
    from suite.workers.onnx_tf_compat import import_onnx_tf

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
        quiet_absl()


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
    quiet_absl()
    prepared.rep.export_graph(saved_model_dir)
    sidecar = Path(saved_model_dir, NAMES_SIDECAR)
    sidecar.parent.mkdir(parents=True, exist_ok=True)
    sidecar.write_text(json.dumps({"inputs": list(prepared.input_names), "feeds": prepared.feed_names}))
