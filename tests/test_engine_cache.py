"""TensorRT's engine cache: one folder per model content, under the run's cache."""

from pathlib import Path

from suite.runtime.engine_cache import ENGINE_CACHE_DIR, with_engine_cache
from suite.runtime.providers import ProviderRequest

TRT = ProviderRequest("TensorrtExecutionProvider", (("trt_fp16_enable", "True"),))


def _folder(request: ProviderRequest) -> str:
    return request.option_dict()["trt_engine_cache_path"]


def test_engines_are_kept_per_content_not_per_name(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    first, same, other = tmp_path / "a.onnx", tmp_path / "copy" / "a.onnx", tmp_path / "b.onnx"
    same.parent.mkdir()
    first.write_bytes(b"model one")
    same.write_bytes(b"model one")
    other.write_bytes(b"model two")
    cached = with_engine_cache(TRT, root, first)
    options = cached.option_dict()
    assert options["trt_fp16_enable"] == "True" and options["trt_engine_cache_enable"] == "True"
    assert Path(_folder(cached)).parent == root / ENGINE_CACHE_DIR and Path(_folder(cached)).is_dir()
    assert options["trt_timing_cache_path"] == _folder(cached)
    assert _folder(with_engine_cache(TRT, root, same)) == _folder(cached)  # same bytes, same engines
    assert _folder(with_engine_cache(TRT, root, other)) != _folder(cached)  # new bytes, never a stale engine
    assert _folder(with_engine_cache(TRT, root, first, level="extended")) != _folder(cached)
    assert _folder(with_engine_cache(ProviderRequest(TRT.name), root, first)) != _folder(cached)


def test_other_providers_and_a_user_placed_cache_are_left_alone(tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(b"m")
    cuda = ProviderRequest("CUDAExecutionProvider")
    assert with_engine_cache(cuda, tmp_path, model) is cuda
    placed = ProviderRequest(TRT.name, (("trt_engine_cache_path", "/mine"),))
    assert with_engine_cache(placed, tmp_path, model) is placed
    assert not (tmp_path / ENGINE_CACHE_DIR).exists()
