"""One-line messages from long tool errors."""

from suite.core.messages import exporter_summary

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
