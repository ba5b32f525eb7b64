"""The TF worker's work (suite.workers: onnx-tf, tf2onnx, Keras) and the parent's reading of onnx-tf failures:
the pure parts here; anything that imports TensorFlow runs in a TF worker process."""

from pathlib import Path

import numpy as np
import pytest

from suite.workers import keras_models, onnx_tf, tf2onnx_convert, tf_process  # noqa: TID251 - drives a TF worker
from suite.workers.onnx_tf_errors import onnx_tf_failure_summary, parse_onnx_tf_failure

# What onnx-tf's refusals look like once TF's autograph has wrapped them (measured:
# resnet18 exported by torch.onnx.export(dynamo=True) at opset 18).
AUTOGRAPH_WRAPPED = """in user code:

    File "/venv/lib/python3.11/site-packages/onnx_tf/backend_tf_module.py", line 99, in __call__  *
        output_ops = self.backend._onnx_node_to_tensorflow_op(onnx_node,
    File "/venv/lib/python3.11/site-packages/onnx_tf/backend.py", line 347, in _onnx_node_to_tensorflow_op  *
        return handler.handle(node, tensor_dict=tensor_dict, strict=strict)
    File "/venv/lib/python3.11/site-packages/onnx_tf/handlers/handler.py", line 61, in handle  *
    raise BackendIsNotSupposedToImplementIt("{} version {} is not implemented.".format(node.op_type, cls.SINCE_VERSION))

    BackendIsNotSupposedToImplementIt: ReduceMean version 18 is not implemented.
"""

KERAS3_LSTM = """in user code:

    File "/venv/lib/python3.11/site-packages/onnx_tf/handlers/backend/lstm.py", line 233, in _common  *
        initial_state = (tf.compat.v1.nn.rnn_cell.LSTMStateTuple(

    AttributeError: `LSTMStateTuple` is not available with Keras 3.
"""


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (AUTOGRAPH_WRAPPED, ("ReduceMean", 18)),
        (AUTOGRAPH_WRAPPED.replace("ReduceMean version 18", "Squeeze version 13"), ("Squeeze", 13)),
        ("ReduceMean version 18 is not implemented.", ("ReduceMean", 18)),
        ("BackendIsNotSupposedToImplementIt: Unsqueeze version 13 is not implemented.", ("Unsqueeze", 13)),
        ("FusedConv version 1 in domain `com.microsoft` is not implemented.", ("FusedConv", 1)),
        # backend.py: no handler for the op type at all
        ("DeformConv is not implemented.", ("DeformConv", 0)),
        # an ONNX-ML op (a skl2onnx tree ensemble): onnx-tf has no ai.onnx.ml handlers
        ("BackendIsNotSupposedToImplementIt: TreeEnsembleRegressor is not implemented.", ("TreeEnsembleRegressor", 0)),
        # OpUnsupportedException and handler RuntimeErrors
        ("GRU with linear_before_reset is not supported in Tensorflow.", ("GRU", 0)),
        ("BatchNormalization with training_mode=1 is not supported in Tensorflow.", ("BatchNormalization", 0)),
        ("Activation function relu6 for LSTM is not supported in Tensorflow.", ("LSTM", 0)),
        ("Resize coordinate_transformation_mode=pytorch_half_pixel is not supported in Tensorflow.", ("Resize", 0)),
        ("MaxPoolWithArgmax with 5D input is not supported in Tensorflow.", ("MaxPool", 0)),
        (
            "Both M and cond in Loop are not set at the same time is not supported in Tensorflow.(PS. if you want "
            "to create a do-while loop then please set cond to True or 1).",
            ("Loop", 0),
        ),
        ("Cast string to type int64 is not supported in Tensorflow.", ("Cast", 0)),
        ("Concat from sequence with new_axis=1 not supported in Tensorflow.", ("ConcatFromSequence", 0)),
        ("Split to sequence with scalar split is not supported due to API limitations.", ("SplitToSequence", 0)),
        ("Transposed convolution for 4d is not implemented in Tensorflow", ("ConvTranspose", 0)),
        ("3-D LP pooling is not supported.", ("LpPool", 0)),
        # DtypeNotCastException
        (
            "MatMul input x with data type 'uint64' is not supported in Tensorflow. Please set auto_cast to True "
            "or change data type to one of the supported types in the following list ['int32', 'float32'].",
            ("MatMul", 0),
        ),
    ],
)
def test_parse_recognises_onnx_tf_refusals(message: str, expected: tuple[str, int]) -> None:
    assert parse_onnx_tf_failure(message) == expected


@pytest.mark.parametrize(
    "message",
    [
        KERAS3_LSTM,
        "{{function_node __inference___call___871}} Matrix size-incompatible: In[0]: [2,40], In[1]: [72,128] "
        "[[{{node LSTM_5cce00e0/rnn/while/body/_63/lstm_cell/BiasAdd}}]] [Op:__inference___call___871]",
        "'input.1'",
        "Expected 2 values for uninitialized graph inputs (a, b), but got 1.",
        "the weather is not supported in Tensorflow.",  # no op named
        "",
    ],
)
def test_parse_leaves_other_failures_alone(message: str) -> None:
    assert parse_onnx_tf_failure(message) is None


def test_summary_is_the_exception_line_after_autograph_frames() -> None:
    assert onnx_tf_failure_summary(AUTOGRAPH_WRAPPED) == (
        "BackendIsNotSupposedToImplementIt: ReduceMean version 18 is not implemented."
    )
    assert onnx_tf_failure_summary(KERAS3_LSTM) == "AttributeError: `LSTMStateTuple` is not available with Keras 3."
    assert onnx_tf_failure_summary("GRU with clip is not supported in Tensorflow.\nmore") == (
        "GRU with clip is not supported in Tensorflow."
    )


def test_restore_input_names_undoes_tf_decorations() -> None:
    renames, unmatched = tf2onnx_convert.restore_input_names(["input_1", "mask:0", "ids"], ["input.1", "mask", "ids"])
    assert renames == {"input_1": "input.1", "mask:0": "mask"}
    assert unmatched == {}
    renames, unmatched = tf2onnx_convert.restore_input_names(["serving_x"], ["x"])
    assert renames == {}
    assert unmatched == {"x": "serving_x"}  # one left on each side: the caller feeds by the file's name
    assert tf2onnx_convert.restore_input_names(["image:0"], None) == ({"image:0": "image"}, {})


@pytest.mark.slow
def test_tf_worker_round_trip_and_keras_export(tmp_path: Path) -> None:
    """One TF worker: onnx-tf, SavedModel, tf2onnx back, and a Keras export; ORT here, TF never here."""
    import sys

    from onnx import TensorProto, helper, numpy_helper, save

    from suite.exporters import ExportRequest
    from suite.judge.inputs import make_inputs
    from suite.runtime.sessions import run_session, session_from_artifact
    from suite.workers.isolate import Worker
    from suite.workers.settings import WorkerSettings
    from zoo.registry import ModelRegistry

    models = ModelRegistry().load_builtin()
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 3)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["input.1", "w"], ["m"]), helper.make_node("Relu", ["m"], ["out"])],
        "g",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, ["n", 4])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["n", 3])],
        [numpy_helper.from_array(w, "w")],
    )
    source = tmp_path / "tiny.onnx"
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(source))
    feeds = [{"input.1": rng.standard_normal((n, 4)).astype(np.float32)} for n in (2, 5)]

    with Worker("tf", tf_process.init_worker, (WorkerSettings(),)) as worker:
        outputs = worker.call(onnx_tf.onnx_tf_run, str(source), feeds, timeout=300)
        for feed, (out,) in zip(feeds, outputs, strict=True):
            np.testing.assert_allclose(out, np.maximum(feed["input.1"] @ w, 0), rtol=1e-5, atol=1e-6)
        saved = tmp_path / "saved"
        worker.call(onnx_tf.onnx_tf_export_saved_model, str(source), str(saved), timeout=300)
        back = tmp_path / "back.onnx"
        info = worker.call(tf2onnx_convert.tf2onnx_from_saved_model, str(saved), str(back), 13, timeout=300)
        assert info["opset"] == 13
        assert info["input_names"] == {}  # "input.1" went through TF as "input_1" and was restored
        session = session_from_artifact(back)
        for feed, (out,) in zip(feeds, outputs, strict=True):
            np.testing.assert_allclose(run_session(session, feed)[1][0], out, rtol=1e-5, atol=1e-6)

        spec = models.get("keras_mlp")
        inputs = make_inputs(spec, spec.other_dims[1])
        eager = worker.call(keras_models.eager_outputs, "keras_mlp", inputs, timeout=300)
        digest = worker.call(keras_models.weights_digest, "keras_mlp")
        target = tmp_path / "keras_mlp.onnx"
        request = ExportRequest("keras_mlp", "tf2onnx", 15, True, str(target))
        result = worker.call(keras_models.export, request, make_inputs(spec, {"batch": 2}), 1, timeout=300)
    assert result.output_names == ("output_0",)
    names, got = run_session(session_from_artifact(target), inputs)
    assert names == ["output_0"]
    np.testing.assert_allclose(got[0], eager[0], rtol=1e-5, atol=1e-6)
    assert len(digest) == 16
    assert "tensorflow" not in sys.modules
