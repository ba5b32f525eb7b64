"""GPU providers on a machine without a GPU, and the one line on TensorRT's libraries."""

import shutil
import subprocess
from pathlib import Path

import pytest

from suite.runtime import placement
from suite.runtime.gpu import gpu_absence
from suite.runtime.gpu_libraries import TENSORRT_PACKAGE_DIR, tensorrt_lib_dirs, tensorrt_line
from suite.runtime.providers import ProviderRequest

# Verbatim from onnxruntime-gpu 1.31.1 in tox -e gpu on this CPU machine (no TensorRT installed).
TENSORRT_MISSING = (
    "2026-12-04 21:40:02.118 [E:onnxruntime:Default, provider_bridge_ort.cc:2458 operator()] "
    "/onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:2043 onnxruntime::Provider& "
    "onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL : Failed to load library "
    "/venv/lib/python3.11/site-packages/onnxruntime/capi/libonnxruntime_providers_tensorrt.so with error: "
    "libnvinfer.so.10: cannot open shared object file: No such file or directory\n"
)
TRT = ProviderRequest("TensorrtExecutionProvider")


def test_a_machine_without_a_driver_has_no_gpu() -> None:
    assert (
        gpu_absence("libcuda-that-is-not-here.so.1") == "no NVIDIA driver (libcuda-that-is-not-here.so.1 does not load)"
    )


def test_a_gpu_provider_without_a_gpu_says_so_rather_than_name_a_library(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(placement, "gpu_absence", lambda: "no NVIDIA driver (libcuda.so.1 does not load)")
    reason = placement._why_fallen_back(TRT, TENSORRT_MISSING)
    assert reason.startswith("no GPU was found: no NVIDIA driver (libcuda.so.1 does not load)")
    assert "NVIDIA GPUs only" in reason and "libnvinfer" not in reason
    # With a GPU there, the missing library is the reason.
    monkeypatch.setattr(placement, "gpu_absence", lambda: "")
    with_gpu = placement._why_fallen_back(TRT, TENSORRT_MISSING)
    assert (
        with_gpu
        == "libonnxruntime_providers_tensorrt.so could not load libnvinfer.so.10 (cannot open shared object file)"
    )
    # A provider that needs no GPU is never told it lacks one.
    monkeypatch.setattr(placement, "gpu_absence", lambda: "no NVIDIA driver")
    assert "GPU" not in placement._why_fallen_back(ProviderRequest("OpenVINOExecutionProvider"), TENSORRT_MISSING)


def test_tensorrt_folders_are_found_as_the_pip_package_lays_them_out(tmp_path: Path) -> None:
    folder = tmp_path / TENSORRT_PACKAGE_DIR
    folder.mkdir()
    assert tensorrt_lib_dirs([str(tmp_path)]) == []  # no libnvinfer: not TensorRT's folder
    (folder / "libnvinfer.so.10").write_bytes(b"")
    assert tensorrt_lib_dirs([str(tmp_path), str(tmp_path), "/nonexistent"]) == [str(folder)]


def _shared_library(path: Path, soname: str, links: tuple[str, ...] = (), link_dir: Path | None = None) -> None:
    """A shared library named `soname` that needs `links` (kept even where nothing of them is used)."""
    source = path.with_suffix(".c")
    source.write_text("int zoo_symbol(void) { return 0; }\n")
    flags = [f"-L{link_dir or path.parent}", "-Wl,--no-as-needed", *(f"-l:{name}" for name in links)]
    command = ["gcc", "-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o", str(path), str(source), *flags]
    subprocess.run(command, check=True)


@pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("ldd") is None, reason="needs gcc and ldd")
def test_the_tensorrt_line_says_where_libnvinfer_resolves_or_what_to_install(tmp_path: Path) -> None:
    """Stand-ins built here: a provider library that needs libnvinfer.so.10, as onnxruntime-gpu's does."""
    trt_dir = tmp_path / TENSORRT_PACKAGE_DIR
    trt_dir.mkdir()
    for name in ("libnvinfer.so.10", "libnvonnxparser.so.10"):
        _shared_library(trt_dir / name, name)
    provider = tmp_path / "libonnxruntime_providers_tensorrt.so"
    _shared_library(provider, provider.name, ("libnvinfer.so.10", "libnvonnxparser.so.10"), trt_dir)
    found = tensorrt_line(provider, str(trt_dir))
    assert found == (
        f"TensorRT: libnvinfer.so.10 => {trt_dir}/libnvinfer.so.10, "
        f"libnvonnxparser.so.10 => {trt_dir}/libnvonnxparser.so.10"
    )
    missing = tensorrt_line(provider, str(tmp_path / "elsewhere"))
    assert missing.startswith("TensorRT: libnvinfer.so.10, libnvonnxparser.so.10 not found for ")
    assert "tensorrt-cu13-libs>=10.13,<11" in missing and "\n" not in missing
    assert tensorrt_line(None, "") == "TensorRT: this onnxruntime build has no TensorRT provider library"


def test_onnxruntime_gpu_on_a_machine_without_a_gpu_gives_no_gpu_fallbacks(tmp_path: Path) -> None:
    """Runs where onnxruntime-gpu is installed and there is no GPU (tox -e gpu on a CPU machine:
    `.tox/gpu/bin/pytest tests/test_gpu_libraries.py`); skipped elsewhere."""
    import onnxruntime as ort

    from suite.runtime.placement import check_provider
    from suite.runtime.sessions import Threads
    from tests.onnx_models import matmul_chain

    if "TensorrtExecutionProvider" not in ort.get_available_providers() or not gpu_absence():
        pytest.skip("needs onnxruntime-gpu on a machine without a GPU")
    model = matmul_chain(tmp_path / "chain.onnx", width=16, depth=2)
    for name in ("TensorrtExecutionProvider", "CUDAExecutionProvider"):
        check = check_provider(model, ProviderRequest(name), Threads(1, 1), graph_nodes=4)
        assert check.session_providers == ("CPUExecutionProvider",)
        assert "no GPU was found: no NVIDIA driver" in check.fallback, check.fallback
        assert "libnvinfer" not in check.fallback and "cannot open shared object" not in check.fallback
