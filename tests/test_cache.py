"""The cache keeps what was stored, or says it did not and lets the step run again."""

from pathlib import Path

import numpy as np
import pytest

from suite.run.cache import Cache, CachedOutcome, CacheEntryDamaged


def test_a_folder_payload_that_changed_is_discarded_with_a_warning(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    scratch = cache.scratch_path("saved_models", "k", "")
    (scratch / "variables").mkdir(parents=True)
    (scratch / "saved_model.pb").write_bytes(b"graph")
    (scratch / "variables" / "data").write_bytes(b"weights")
    stored = cache.store("saved_models", "k", CachedOutcome("ok"), scratch, "")
    assert len(stored.payload_sha256) == 64
    assert cache.load("saved_models", "k", "") == stored
    (cache.path("saved_models", "k", "") / "variables" / "data").write_bytes(b"weightz")
    with pytest.warns(CacheEntryDamaged, match="saved_models/k was damaged"):
        assert cache.load("saved_models", "k", "") is None
    assert not cache.path("saved_models", "k", "").exists()  # discarded: the next run makes it again
    assert cache.load("saved_models", "k", "") is None


def test_arrays_and_failures_round_trip_and_a_truncated_entry_is_made_again(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    arrays = [np.arange(6, dtype=np.float32).reshape(2, 3), np.ones(4)]
    cache.store_arrays("references", "r", CachedOutcome("ok"), arrays)
    outcome, loaded = cache.load_arrays("references", "r")
    assert outcome.status == "ok"
    assert all(np.array_equal(a, b) for a, b in zip(arrays, loaded, strict=True))
    failure = CachedOutcome("model_error", "forward raised")
    cache.store_arrays("references", "f", failure, [])
    assert cache.load_arrays("references", "f") == (failure, [])  # a failure has no payload to verify
    path = cache.path("references", "r", ".npz")
    path.write_bytes(path.read_bytes()[:20])
    with pytest.warns(CacheEntryDamaged):
        assert cache.load_arrays("references", "r") is None
    (cache.root / "references" / "f.json").write_text('{"status": "ok", "mess')
    with pytest.warns(CacheEntryDamaged, match="cannot be read"):
        assert cache.load("references", "f") is None


def _export(cache: Cache, key: str, content: bytes) -> CachedOutcome:
    scratch = cache.scratch_path("exports", key, ".onnx")
    scratch.write_bytes(content)
    return cache.store("exports", key, CachedOutcome("ok"), scratch, ".onnx")


def test_damage_two_processes_find_at_once_is_warned_about_once(tmp_path: Path) -> None:
    # Two xdist workers read the same entry's record; both find its file changed.
    first, second = Cache(tmp_path / "cache"), Cache(tmp_path / "cache")
    _export(first, "e", b"graph")
    first.path("exports", "e", ".onnx").write_bytes(b"grapx")
    with pytest.warns(CacheEntryDamaged) as warned:
        first._discard("exports", "e", ".onnx", "its file no longer matches")
        second._discard("exports", "e", ".onnx", "its file no longer matches")
    assert len(warned) == 1 and not first.path("exports", "e", ".onnx").exists()
    # One worker already made it again when the other comes to discard it: the new entry stays.
    remade = _export(first, "e", b"graph")
    second._discard("exports", "e", ".onnx", "its file is missing")
    assert second.load("exports", "e", ".onnx") == remade
    assert sorted(p.name for p in (tmp_path / "cache" / "exports").iterdir()) == ["e.json", "e.onnx"]
