"""ONNX files from outside, handled in the onnx worker process: a crash in onnx's C++ checker or in
ONNX Runtime on a malformed file costs one row, never the pytest process.

The pytest process only ever loads the imported copy, after onnx.checker and ONNX Runtime's CPU
provider took it here (where the checker complains, ORT's session alone: the complaint is kept for the
row's checker_error column).
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from suite.core.messages import clip, first_line
from suite.onnx_files.checks import inspect_file
from suite.onnx_files.safe_read import Limits, SourceRejected, read_model
from suite.onnx_files.values import Value
from suite.runtime.sessions import output_values

_LOAD_PREFIX = re.compile(r"Load model from .*? failed:\s*")


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

    A copy the checker rejects is still taken where ONNX Runtime's CPU provider makes a session of it:
    the complaint goes into its facts (checker_error) and the row is judged on what ORT computes.
    Returns the graph's output names and the copy's facts (ArtifactInfo fields).
    Raises ModelError with one line when the file is rejected (by both, the line gives both reasons).
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
    info = inspect_file(Path(target))
    if info.checker_error:
        refusal = _ort_refusal(target)
        if refusal:  # both reasons in the row's one line (300 characters): the checker's cut to half
            raise ModelError(f"{clip(info.checker_error, 150)}; ONNX Runtime's CPU provider refused it too: {refusal}")
    return {
        "output_names": [output.name for output in proto.graph.output],
        "info": dataclasses.asdict(info),
        "seconds": time.perf_counter() - start,
    }


def _ort_refusal(path: str) -> str:
    """Why ONNX Runtime's CPU provider makes no session of the file, one line ("" when it does)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    try:
        ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - ORT raises Fail, InvalidGraph, NotImplemented ... as one line
        # "Load model from /cache/exports/<key>.onnx failed:" names the cache's copy, not the file: dropped
        return first_line(_LOAD_PREFIX.sub("", str(exc)))
    return ""


def ort_cpu_outputs(path: str, feeds: Sequence[Mapping[str, Value]]) -> list[list[Value]]:
    """ONNX Runtime's CPU provider on the imported file, once per input set (one thread: a reference,
    not a timing). The first ORT session on a file from outside is made here, not in pytest.

    Outputs are as ORT's Python API gives them: arrays, lists for sequences, dicts in the lists of
    sequences of maps, None for an empty optional; float8e4m3fn arrays, which ORT hands back as their
    uint8 bits, viewed as float8e4m3fn (as onnx reads the stored outputs)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return [output_values(session, session.run(None, dict(inputs))) for inputs in feeds]
