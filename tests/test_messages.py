"""One-line messages from long tool errors: the line kept is the one that says what went wrong."""

import pytest

from suite.core.messages import clean_message, exporter_summary, first_line, informative_line, says_nothing

# Verbatim (shortened C++ signature) from onnxruntime-openvino 1.24.1 loading GPT-2 after
# onnxruntime.transformers' optimizer.
OPENVINO_READ_FAILURE = """[ONNXRuntimeError] : 1 : FAIL : Exception during initialization: \
/onnxruntime/onnxruntime/core/providers/openvino/ov_interface.cc:28 \
auto onnxruntime::openvino_ep::OvExceptionBoundary(...) \
[OpenVINO-EP] Exception while Reading network: Check 'onnx_node.get_outputs_size() <= outputs_size' failed at \
src/frontends/onnx/frontend/src/core/graph.cpp:372:
FrontEnd API failed with GeneralFailure:
Expected output number of SkipLayerNormalization node is 4 while the implementation provides 1 outputs



"""


def test_openvino_read_failures_keep_the_cause_not_the_signature() -> None:
    assert exporter_summary(OPENVINO_READ_FAILURE) == (
        "OpenVINO could not read the model: Expected output number of SkipLayerNormalization node is 4 "
        "while the implementation provides 1 outputs"
    )


def test_other_errors_keep_their_first_line() -> None:
    assert exporter_summary("\x1b[1;31mFirst line\x1b[m\nsecond") == "First line"
    assert exporter_summary("First line\nsecond") == "First line"


# Verbatim but for the venv's path: onnx-tf 1.10 on TF 2.21 running a Pad-13 node whose optional
# constant_value input is omitted (its name is ""), in the suite's TF worker (tests/test_true_reasons.py
# reproduces it live). Autograph re-raises the KeyError as MultilineMessageKeyError with this text.
AUTOGRAPH_KEY_ERROR = """in user code:

    File "/venv/lib/python3.11/site-packages/onnx_tf/backend_tf_module.py", line 99, in __call__  *
        output_ops = self.backend._onnx_node_to_tensorflow_op(onnx_node,
    File "/venv/lib/python3.11/site-packages/onnx_tf/backend.py", line 347, in _onnx_node_to_tensorflow_op  *
        return handler.handle(node, tensor_dict=tensor_dict, strict=strict)
    File "/venv/lib/python3.11/site-packages/onnx_tf/handlers/handler.py", line 59, in handle  *
        return ver_handle(node, **kwargs)
    File "/venv/lib/python3.11/site-packages/onnx_tf/handlers/backend/pad.py", line 95, in version_13  *
        return cls._common(node, **kwargs)
    File "/venv/lib/python3.11/site-packages/onnx_tf/handlers/backend/pad.py", line 73, in _common  *
        constant_values = tensor_dict[node.inputs[2]] if len(

    KeyError: ''

"""
PAD_PLACE = "pad.py:73 in _common: constant_values = tensor_dict[node.inputs[2]] if len("


@pytest.mark.parametrize(
    "text",
    [
        AUTOGRAPH_KEY_ERROR,
        # onnx_tf_run_sizes passes a later size's failure on as "Type: str(exc)".
        f"KeyError: {AUTOGRAPH_KEY_ERROR}",
        # The worker's traceback of it: Python's frames, then autograph's text as the exception's.
        'Traceback (most recent call last):\n  File "/x/onnx_tf.py", line 96, in _run_rep\n    return rep.run(feeds)\n'
        f"tensorflow.python.autograph.pyct.error_utils.MultilineMessageKeyError: {AUTOGRAPH_KEY_ERROR}",
    ],
)
def test_an_autograph_error_that_says_nothing_is_named_by_where_it_was_raised(text: str) -> None:
    assert informative_line(text) == f"KeyError: '' raised at {PAD_PLACE}"
    assert first_line(RuntimeError(text)) == clean_message(text) == informative_line(text)


def test_an_autograph_error_that_says_something_is_its_exception_line() -> None:
    refused = AUTOGRAPH_KEY_ERROR.replace("KeyError: ''", "RuntimeError: Pad mode=wrap is not supported in Tensorflow.")
    assert informative_line(refused) == "RuntimeError: Pad mode=wrap is not supported in Tensorflow."
    # A cause whose first line says nothing: its next line does.
    split = AUTOGRAPH_KEY_ERROR.replace("KeyError: ''", "ValueError:\n    Dimensions must be equal, but are 40 and 72")
    assert informative_line(split) == "Dimensions must be equal, but are 40 and 72"


@pytest.mark.parametrize(
    ("line", "empty"),
    [
        ("KeyError: ''", True),
        ("MultilineMessageKeyError: KeyError: ''", True),
        ("ValueError:", True),
        ("AssertionError", True),
        ("''", True),
        ("RuntimeError: None", True),
        ("KeyError: 'input.1'", False),
        ("KeyError: 0", False),
        ("Details:", False),  # a heading, not an exception: clean_message joins it with its next line
        ("[ONNXRuntimeError] : 9 : NOT_IMPLEMENTED : Could not find an implementation for Add(14)", False),
    ],
)
def test_says_nothing_is_an_exception_name_with_an_empty_payload(line: str, empty: bool) -> None:
    assert says_nothing(line) is empty


def test_multi_line_messages_keep_the_informative_line() -> None:
    assert (
        informative_line("KeyError: ''\n  the tensor 'x' is not in the graph") == "the tensor 'x' is not in the graph"
    )
    assert informative_line("ValueError:\nshapes (2,3) and (4,5) not aligned") == "shapes (2,3) and (4,5) not aligned"
    assert informative_line("KeyError: ''") == "KeyError: ''"  # nothing more to keep
    assert first_line(KeyError("")) == "''" and first_line(ValueError()) == "ValueError"
    bare = (
        'Traceback (most recent call last):\n  File "/x/infer.py", line 12, in _infer\n    assert rank\nAssertionError'
    )
    assert clean_message(bare) == "AssertionError raised at infer.py:12 in _infer: assert rank"
    # What held before still holds: a traceback's exception line, an announcement joined with its line.
    traceback = 'Traceback (most recent call last):\n  File "x.py", line 3, in f\n    g()\n    ^^^\nValueError: bad\n'
    assert clean_message(traceback) == "ValueError: bad"
    assert clean_message("\n\nort failed:\n  boom\nmore") == first_line("ort failed:\n  boom") == "ort failed: boom"
    # An exporter's first line names its failure; a traceback it quotes below is context, except in a
    # row's message (one line where it is not a traceback).
    quoted = f"UnsupportedOperatorError: aten::foo at opset 11\n{traceback}"
    assert first_line(quoted) == "UnsupportedOperatorError: aten::foo at opset 11"
    assert clean_message(f"worker died:\n{traceback}") == "ValueError: bad"


# Verbatim from TensorFlow 2.21 running a SavedModel's signature on a batch its MatMul cannot take.
TF_GRAPH_ERROR = (
    "Graph execution error:\n\nDetected at node StatefulPartitionedCall/MatMul defined at (most recent call last):\n"
    "<stack traces unavailable>\nMatrix size-incompatible: In[0]: [2,32], In[1]: [64,10]\n"
    "\t [[{{node StatefulPartitionedCall/MatMul}}]] [Op:__inference_signature_wrapper_94]"
)
# The older form, with the Python frames that defined the node and a "Node:" line.
TF_GRAPH_ERROR_WITH_FRAMES = (
    "Graph execution error:\n\nDetected at node 'model/MatMul' defined at (most recent call last):\n"
    "    File \"convert.py\", line 3, in <module>\n      model(x)\nNode: 'model/MatMul'\n"
    "Matrix size-incompatible: In[0]: [2,32], In[1]: [64,10]\n\t [[{{node model/MatMul}}]]"
)


@pytest.mark.parametrize(
    ("text", "node"), [(TF_GRAPH_ERROR, "StatefulPartitionedCall/MatMul"), (TF_GRAPH_ERROR_WITH_FRAMES, "model/MatMul")]
)
def test_a_tf_graph_execution_error_keeps_the_kernels_error_and_its_node(text: str, node: str) -> None:
    said = "Matrix size-incompatible: In[0]: [2,32], In[1]: [64,10]"
    assert first_line(text) == f"{said} (at node {node})"
    # Where the exception's type was put first, it stays first.
    assert informative_line(f"InvalidArgumentError: {text}") == f"InvalidArgumentError: {said} (at node {node})"
    assert (
        informative_line("InvalidArgumentError: Graph execution error:")
        == "InvalidArgumentError: Graph execution error:"
    )
