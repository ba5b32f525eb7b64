"""ONNX files from outside, handled in the onnx worker process: a crash in onnx's C++ checker or in
ONNX Runtime on a malformed file costs one row, never the pytest process.

The pytest process only ever loads the imported copy, after onnx.checker and ONNX Runtime's CPU
provider took it here.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from suite.onnx_files.checks import InvalidModelError, inspect_artifact
from suite.onnx_files.safe_read import Limits, SourceRejected, read_model


def init_worker(max_bytes: int) -> None:
    """Cap the worker's address space: a graph that asks ONNX Runtime for more memory than the cap
    fails (an allocation error, or at worst this process dies: one row), never the machine."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))


class ModelError(Exception):
    """The file is the problem (unsafe, corrupt or invalid): a model_error row."""


def import_file(model: str, folder: str, target: str, limits: Limits) -> dict[str, Any]:
    """Read the file safely (sizes capped, external data confined to its folder and inlined), write a
    self-contained copy to `target` and check it with onnx.checker and strict shape inference.

    Returns the graph's output names and the copy's facts (ArtifactInfo fields).
    Raises ModelError with one line when the file is rejected.
    """
    import onnx

    start = time.perf_counter()
    try:
        proto = read_model(Path(model), Path(folder), limits)
    except SourceRejected as exc:
        raise ModelError(str(exc)) from None
    if proto.ByteSize() >= 2**31 - 1:
        raise ModelError(f"{Path(model).name}: with its external data inlined it is over protobuf's 2 GiB limit")
    onnx.save_model(proto, target)
    try:
        info = inspect_artifact(Path(target))
    except InvalidModelError as exc:
        raise ModelError(str(exc)) from None
    return {
        "output_names": [output.name for output in proto.graph.output],
        "info": dataclasses.asdict(info),
        "seconds": time.perf_counter() - start,
    }


def ort_cpu_outputs(path: str, feeds: Sequence[Mapping[str, np.ndarray]]) -> list[list[np.ndarray]]:
    """ONNX Runtime's CPU provider on the imported file, once per input set (one thread: a reference,
    not a timing). The first ORT session on a file from outside is made here, not in pytest."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return [[np.asarray(out) for out in session.run(None, dict(inputs))] for inputs in feeds]
