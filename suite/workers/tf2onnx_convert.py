"""tf2onnx in the TF worker (suite.workers.tf_process): a SavedModel back to ONNX, through
tf2onnx's Python calls, with the ONNX file's input names restored."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from suite.workers.onnx_tf import NAMES_SIDECAR


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
    import tensorflow as tf
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
    sidecar = Path(saved_model_dir, NAMES_SIDECAR)
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
