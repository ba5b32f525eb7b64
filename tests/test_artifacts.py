"""Timed artifacts are kept once per content and found only while they still match it."""

from pathlib import Path

from suite.core.digest import file_sha256
from suite.latency_ab.kept_artifacts import ArtifactStore


def test_kept_once_by_content_and_found_only_while_intact(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    first, second = tmp_path / "a.onnx", tmp_path / "b.onnx"
    first.write_bytes(b"model bytes")
    second.write_bytes(b"model bytes")
    sha = store.keep(first)
    assert store.keep(second) == sha == file_sha256(first)
    assert [p.name for p in (tmp_path / "artifacts").rglob("*") if p.is_file()] == [f"{sha}.onnx"]
    kept = store.find(sha)
    assert kept is not None and kept.read_bytes() == b"model bytes"
    first.unlink()  # the source going away (a cleared cache) leaves the kept copy
    assert store.find(sha) is not None
    kept.write_bytes(b"changed")  # an outside hand: no longer what the name says
    assert store.find(sha) is None and store.find("0" * 64) is None
