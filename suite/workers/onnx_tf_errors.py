"""Reading onnx-tf's failures: which op it refused, and the line that says what went wrong.

Pure text work for the parent process (it imports only onnx, for the list of op names, and
suite.core.messages, never TensorFlow); the onnx-tf worker code (suite.workers.onnx_tf) uses it too.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from suite.core.messages import Frame, framed_error, informative_line

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


# The module of an op's handler: onnx_tf/handlers/backend/<module>.py, whose version_N handles the op's version N.
_HANDLER_FRAME = re.compile(r"onnx_tf/handlers/backend/(?P<module>\w+)\.py$")
_VERSION_FUNCTION = re.compile(r"version_(\d+)")
_EMPTY_NAME_LOOKUP = re.compile(r"KeyError: (?:''|\"\")")


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

    onnx-tf converts inside a tf.function, so TF's autograph rewrites its exceptions: the message
    opens with "in user code:" and a list of frames, and the original "Type: text" line comes last.
    That line (see suite.core.messages.informative_line) is returned. Where it says nothing
    (autograph's KeyError: ''), it is named by the onnx-tf handler it failed in and the line it
    failed at; a message without frames comes back as its first informative line.
    """
    framed = framed_error(message.splitlines())
    if framed is None or not framed.said_nothing or not framed.frames:
        return informative_line(message)
    handler = _handler_of(framed.frames)
    where = f" in onnx-tf's {handler}" if handler else ""
    summary = f"{framed.exception}{where}, raised at {framed.frames[-1].place()}"
    if _EMPTY_NAME_LOOKUP.fullmatch(framed.exception):
        # onnx-tf keeps tensors by name, and ONNX names an omitted optional input "".
        summary += "; onnx-tf looked up an omitted optional input (its name is empty)"
    return summary


def _handler_of(frames: Sequence[Frame]) -> str:
    """ "Pad handler (version 13)" from the first frame in onnx-tf's op handlers, or "" where none is.

    handler.handle calls the op's own handler first (handlers/backend/pad.py, in version_13);
    mixins and helpers it calls come after.
    """
    for frame in frames:
        match = _HANDLER_FRAME.search(frame.path)
        if match is None:
            continue
        op = _op_named(match["module"])
        if op is None:
            return ""
        version = _VERSION_FUNCTION.fullmatch(frame.function)
        return f"{op} handler (version {version[1]})" if version else f"{op} handler"
    return ""


def _op_named(module: str) -> str | None:
    """The ONNX op an onnx-tf handler module is named after ("conv_transpose" -> "ConvTranspose")."""
    return _onnx_ops_by_key().get(module.replace("_", "").lower())


@functools.cache
def _onnx_ops_by_key() -> dict[str, str]:
    from onnx import defs

    return {schema.name.lower(): schema.name for schema in defs.get_all_schemas_with_history()}


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
    """An op of the ONNX standard or of ONNX-ML (ai.onnx.ml: the tree ensembles, linear models and
    scalers scikit-learn converters write, which onnx-tf has no handler for)."""
    from onnx import defs

    return defs.has(name) or defs.has(name, "ai.onnx.ml")
