"""Reading onnx-tf's failures: which op it refused, and the line that says what went wrong.

Pure text work for the parent process (it imports only onnx, for the list of op names, never
TensorFlow); the onnx-tf worker code (suite.workers.onnx_tf) uses it too.
"""

from __future__ import annotations

import re

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
