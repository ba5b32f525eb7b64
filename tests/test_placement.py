# ruff: noqa: E501 - onnxruntime log lines are kept verbatim
"""Provider verification: placement logs, fallback reasons, and a real fallback on this machine."""

from pathlib import Path

import pytest

from suite.runtime.placement import check_provider, fallback_reason, parse_placement
from suite.runtime.providers import ProviderRequest
from suite.runtime.sessions import Threads, capture_native_stderr, create_session
from tests.onnx_models import matmul_chain

# Verbatim from onnxruntime-openvino 1.24.1 (a model with one node OpenVINO does not take).
OPENVINO_SPLIT = """\
2026-11-26 22:30:18.168 [I:onnxruntime:Default, capability.cc:252 Execute] [OpenVINO-EP] Supported subgraphs on OpenVINO: 2
2026-11-26 22:30:18.168194617 [V:onnxruntime:, session_state.cc:1307 VerifyEachNodeIsAssignedToAnEp] Node placements
2026-11-26 22:30:18.168197968 [V:onnxruntime:, session_state.cc:1313 VerifyEachNodeIsAssignedToAnEp]  Node(s) placed on [OpenVINOExecutionProvider]. Number of nodes: 2
2026-11-26 22:30:18.168200876 [V:onnxruntime:, session_state.cc:1315 VerifyEachNodeIsAssignedToAnEp]   OpenVINO-EP-subgraph_1 (OpenVINOExecutionProvider_OpenVINO-EP-subgraph_1_0)
2026-11-26 22:30:18.168203485 [V:onnxruntime:, session_state.cc:1315 VerifyEachNodeIsAssignedToAnEp]   OpenVINO-EP-subgraph_2 (OpenVINOExecutionProvider_OpenVINO-EP-subgraph_2_1)
2026-11-26 22:30:18.168206149 [V:onnxruntime:, session_state.cc:1313 VerifyEachNodeIsAssignedToAnEp]  Node(s) placed on [CPUExecutionProvider]. Number of nodes: 1
2026-11-26 22:30:18.168208746 [V:onnxruntime:, session_state.cc:1315 VerifyEachNodeIsAssignedToAnEp]   Hardmax (hardmax0)
2026-11-26 22:30:18.168282228 [V:onnxruntime:, session_state.cc:196 CreateGraphInfo] SaveMLValueNameIndexMapping
"""
# Verbatim from onnxruntime-gpu 1.31.1 on a machine without CUDA (\x1b: the log's colour codes).
CUDA_MISSING = (
    "\x1b[1;31m2026-11-26 22:30:27.798961903 [E:onnxruntime:Default, provider_bridge_ort.cc:2458 operator()] "
    "/onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:2043 onnxruntime::Provider& "
    "onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL : Failed to load library "
    "/venv/lib/python3.11/site-packages/onnxruntime/capi/libonnxruntime_providers_cuda.so with error: "
    "libcublasLt.so.13: cannot open shared object file: No such file or directory\n\x1b[m\n"
    "\x1b[0;93m2026-11-26 22:30:27.599793141 [W:onnxruntime:Default, onnxruntime_pybind_state.cc:1295 "
    "CreateExecutionProviderFactoryInstance] Failed to create CUDAExecutionProvider. Require cuDNN 9.* and "
    "CUDA 13.*. Please install all dependencies as mentioned in the GPU requirements page.\x1b[m\n"
)


def test_a_split_placement_counts_the_model_nodes_left_on_cpu() -> None:
    placement = parse_placement(OPENVINO_SPLIT)
    assert placement.found
    assert placement.counts == {"OpenVINOExecutionProvider": 2, "CPUExecutionProvider": 1}
    assert placement.elsewhere("OpenVINOExecutionProvider") == "CPUExecutionProvider: Hardmax 1"
    # Two fused subgraphs stand for 5 of the model's 6 nodes; one node stayed on CPU.
    assert placement.share_on("OpenVINOExecutionProvider", graph_nodes=6) == pytest.approx(5 / 6)
    assert placement.share_on("CUDAExecutionProvider", graph_nodes=6) == 0.0


def test_all_nodes_on_one_provider() -> None:
    log = "2026-11-26 22:28:34.1 [V:onnxruntime:, s.cc:1 V] Node placements\n"
    log += "2026-11-26 22:28:34.1 [V:onnxruntime:, s.cc:2 V]  All nodes placed on [CPUExecutionProvider]. Number of nodes: 2\n"
    placement = parse_placement(log)
    assert placement.share_on("CPUExecutionProvider", graph_nodes=4) == 1.0
    assert placement.share_on("OpenVINOExecutionProvider", graph_nodes=4) == 0.0


def test_no_placement_block_means_no_share() -> None:
    assert not parse_placement("nothing logged").found
    assert parse_placement("nothing logged").share_on("CPUExecutionProvider", 3) == 0.0


def test_the_fallback_reason_names_the_missing_library() -> None:
    reason = fallback_reason("CUDAExecutionProvider", CUDA_MISSING)
    assert "libonnxruntime_providers_cuda.so could not load libcublasLt.so.13" in reason
    assert "Require cuDNN 9.* and CUDA 13.*" in reason
    assert fallback_reason("TensorrtExecutionProvider", "no errors") == ""


def test_native_stderr_is_captured_and_restored(tmp_path: Path) -> None:
    import os

    def write() -> int:
        return os.write(2, b"from C++\n")

    written, text = capture_native_stderr(write)
    assert written == 9 and text == "from C++\n"
    with pytest.raises(ZeroDivisionError):
        capture_native_stderr(lambda: 1 / 0)
    assert os.write(2, b"") == 0  # fd 2 is usable again


def test_cpu_session_is_verified_with_every_node_on_cpu(tmp_path: Path) -> None:
    model = matmul_chain(tmp_path / "chain.onnx", width=16, depth=2)
    check = check_provider(model, ProviderRequest("CPUExecutionProvider"), Threads(1, 1), graph_nodes=4)
    assert check.fallback == ""
    assert check.session_providers == ("CPUExecutionProvider",)
    assert check.share == 1.0
    # The verbose session leaves onnxruntime quiet again for the sessions that follow.
    _, text = capture_native_stderr(lambda: create_session(model, ProviderRequest("CPUExecutionProvider")))
    assert text == ""


def test_a_provider_that_takes_no_node_is_a_fallback(tmp_path: Path) -> None:
    import onnxruntime as ort

    if "AzureExecutionProvider" not in ort.get_available_providers():
        pytest.skip("this onnxruntime build has no AzureExecutionProvider to ask for")
    model = matmul_chain(tmp_path / "chain.onnx", width=16, depth=2)
    # Azure runs remote endpoints, not graph nodes: ORT accepts it and places everything on CPU.
    check = check_provider(model, ProviderRequest("AzureExecutionProvider"), Threads(1, 1), graph_nodes=4)
    assert check.share == 0.0
    assert "no node was placed on it" in check.fallback
    assert "CPUExecutionProvider" in check.fallback
