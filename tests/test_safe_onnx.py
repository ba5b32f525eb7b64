"""Files from outside are read only inside their folder, within the caps, and a bad one is one line."""

import io
import os
import tarfile
from pathlib import Path

import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from suite.onnx_files.checks import InvalidModelError, inspect_artifact
from suite.onnx_files.safe_read import Limits, SourceRejected, declared_bytes, extract_archive, read_model
from suite.onnx_files.values import read_value
from suite.workers import onnx_files  # noqa: TID251 - the import's checks, in-process on hand-built files

WEIGHT = np.arange(12, dtype=np.float32).reshape(4, 3)


def small_model(weight: TensorProto | None = None) -> onnx.ModelProto:
    weight = weight if weight is not None else numpy_helper.from_array(WEIGHT, "W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        [weight],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def external(location: str, offset: int = 0, length: int | None = None, dims: tuple[int, ...] = (4, 3)) -> TensorProto:
    """The weight as an external tensor pointing at `location`."""
    tensor = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=list(dims))
    tensor.data_location = TensorProto.EXTERNAL
    entries = {"location": location, "offset": str(offset), **({"length": str(length)} if length is not None else {})}
    for key, value in entries.items():
        tensor.external_data.add(key=key, value=value)
    return tensor


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A model folder inside a sandbox, with a canary file outside it."""
    (tmp_path / "canary.bin").write_bytes(WEIGHT.tobytes())
    model_dir = tmp_path / "zoo" / "model"
    model_dir.mkdir(parents=True)
    (model_dir / "weights.bin").write_bytes(b"\0" * 16 + WEIGHT.tobytes())
    return model_dir


def write(folder: Path, model: onnx.ModelProto) -> Path:
    path = folder / "model.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def test_external_data_inside_the_folder_is_read_into_the_model(folder: Path) -> None:
    model = read_model(write(folder, small_model(external("weights.bin", offset=16, length=48))), folder, Limits())
    weight = model.graph.initializer[0]
    assert weight.data_location == TensorProto.DEFAULT and not weight.external_data
    np.testing.assert_array_equal(numpy_helper.to_array(weight), WEIGHT)


@pytest.mark.parametrize(
    ("location", "offset", "length", "message"),
    [
        ("{canary}", 0, 48, "is absolute"),
        ("../../canary.bin", 0, 48, "contains '..'"),
        ("sub/../../../canary.bin", 0, 48, "contains '..'"),
        ("C:\\canary.bin", 0, 48, "is absolute"),
        ("link.bin", 0, 48, "leads out of the model's folder"),
        ("weights.bin", 40, 48, "reach past the end"),
        ("weights.bin", 0, 32, "holds 32 bytes but its dims and type need 48"),
        ("missing.bin", 0, 48, "is not a file in the model's folder"),
    ],
)
def test_external_data_that_leaves_the_folder_or_its_file_is_rejected_before_reading(
    folder: Path, location: str, offset: int, length: int, message: str
) -> None:
    canary = folder.parent.parent / "canary.bin"
    (folder / "link.bin").symlink_to(canary)
    os.utime(canary, (1_000_000, 2_000_000))  # atime before mtime: any read would move it (relatime)
    path = write(folder, small_model(external(location.format(canary=canary), offset, length)))
    with pytest.raises(SourceRejected, match=message):
        read_model(path, folder, Limits())
    assert canary.stat().st_atime == 1_000_000  # never opened


def test_a_huge_declared_tensor_is_rejected_before_anything_is_allocated(folder: Path) -> None:
    path = write(folder, small_model(external("weights.bin", dims=(1 << 20, 1 << 20))))
    with pytest.raises(SourceRejected, match=r"initializer 'W' declares \[1048576, 1048576\] .* cap"):
        read_model(path, folder, Limits())


def test_a_file_over_the_cap_and_a_corrupt_file_are_one_line_rejections(folder: Path) -> None:
    path = write(folder, small_model())
    with pytest.raises(SourceRejected, match="MiB cap"):
        read_model(path, folder, Limits(max_file_bytes=100))
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(SourceRejected, match="not a valid ONNX model") as caught:
        read_model(path, folder, Limits())
    assert "\n" not in str(caught.value)


def test_a_model_file_that_is_a_symlink_out_of_its_folder_is_not_read(folder: Path) -> None:
    outside = folder.parent.parent / "outside.onnx"
    outside.write_bytes(small_model().SerializeToString())
    (folder / "model.onnx").symlink_to(outside)
    with pytest.raises(SourceRejected, match="leads out of its folder"):
        read_model(folder / "model.onnx", folder, Limits())


def test_test_data_is_size_checked_and_must_be_inline(folder: Path) -> None:
    data = folder / "test_data_set_0"
    data.mkdir()
    good = data / "input_0.pb"
    good.write_bytes(numpy_helper.from_array(WEIGHT, "x").SerializeToString())
    assert read_value(good, folder, Limits())[0] == "x"
    short = numpy_helper.from_array(WEIGHT, "x")
    short.raw_data = short.raw_data[:20]
    (data / "input_1.pb").write_bytes(short.SerializeToString())
    with pytest.raises(SourceRejected, match="holds 20 bytes but its dims"):
        read_value(data / "input_1.pb", folder, Limits())
    (data / "input_2.pb").write_bytes(external("../weights.bin").SerializeToString())
    with pytest.raises(SourceRejected, match="test data must be inline"):
        read_value(data / "input_2.pb", folder, Limits())
    (data / "input_3.pb").write_bytes(b"\xff\xff\xff")
    with pytest.raises(SourceRejected, match="not a valid TensorProto"):
        read_value(data / "input_3.pb", folder, Limits())


@pytest.mark.parametrize(
    ("data_type", "count", "stored"),
    [
        (TensorProto.INT4, 7, 4),  # two values a byte, the last byte half used
        (TensorProto.UINT4, 8, 4),
        (TensorProto.FLOAT4E2M1, 7, 4),
        (TensorProto.INT2, 7, 2),  # four values a byte
        (TensorProto.UINT2, 9, 3),
        (TensorProto.FLOAT6E2M3, 7, 6),  # four values in three bytes
        (TensorProto.BFLOAT16, 7, 14),
        (TensorProto.FLOAT8E4M3FN, 7, 7),
        (TensorProto.FLOAT, 7, 28),
    ],
)
def test_declared_bytes_count_packed_sub_byte_types_as_stored(data_type: int, count: int, stored: int) -> None:
    assert declared_bytes(TensorProto(data_type=data_type, dims=[count, 1])) == stored


def test_a_packed_int4_initializer_in_external_data_is_read_at_its_packed_length(folder: Path) -> None:
    values = np.array([1, -2, 3, -4, 5, -6, 7], dtype=ml_dtypes.int4).reshape(7, 1)
    (folder / "int4.bin").write_bytes(numpy_helper.from_array(values, "W").raw_data)  # 4 bytes
    tensor = TensorProto(name="W", data_type=TensorProto.INT4, dims=[7, 1], data_location=TensorProto.EXTERNAL)
    for key, value in {"location": "int4.bin", "offset": "0", "length": "4"}.items():
        tensor.external_data.add(key=key, value=value)
    model = read_model(write(folder, small_model(tensor)), folder, Limits())
    np.testing.assert_array_equal(numpy_helper.to_array(model.graph.initializer[0]), values)


def tar_with(path: Path, *members: tuple[tarfile.TarInfo, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


def member(name: str, kind: bytes = tarfile.REGTYPE, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (member("../escape.txt"), "would land outside"),
        (member("/tmp/zoo-absolute.txt"), "would land outside"),
        (member("m/link.bin", tarfile.SYMTYPE, "/etc/passwd"), "is a link or device"),
        (member("m/hard.bin", tarfile.LNKTYPE, "m/model.onnx"), "is a link or device"),
    ],
)
def test_archive_members_that_escape_or_link_are_rejected_and_nothing_is_written(
    tmp_path: Path, bad: tarfile.TarInfo, message: str
) -> None:
    archive = tar_with(tmp_path / "m.tar.gz", (member("m/model.onnx"), b"model"), (bad, b"x"))
    with pytest.raises(SourceRejected, match=message):
        extract_archive(archive, tmp_path / "out" / "m", Limits())
    assert not (tmp_path / "escape.txt").exists() and not Path("/tmp/zoo-absolute.txt").exists()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_archive_size_cap_truncation_and_reuse(tmp_path: Path) -> None:
    archive = tar_with(tmp_path / "m.tar.gz", (member("m/model.onnx"), b"x" * 5000))
    with pytest.raises(SourceRejected, match="unpacks to more than"):
        extract_archive(archive, tmp_path / "capped", Limits(max_archive_bytes=1000))
    truncated = tmp_path / "cut.tar.gz"
    truncated.write_bytes(archive.read_bytes()[:30])
    with pytest.raises(SourceRejected, match="cannot be unpacked"):
        extract_archive(truncated, tmp_path / "cut", Limits())
    dest = extract_archive(archive, tmp_path / "ok", Limits())
    assert (dest / "m" / "model.onnx").read_bytes() == b"x" * 5000
    (dest / "m" / "model.onnx").write_bytes(b"kept")  # an unpacked copy is reused, not unpacked again
    assert (extract_archive(archive, tmp_path / "ok", Limits()) / "m" / "model.onnx").read_bytes() == b"kept"


def test_a_file_the_checker_rejects_but_onnx_runtime_runs_is_imported_with_the_complaint(folder: Path) -> None:
    stale = helper.make_graph(  # the output's declared shape contradicts inference; ORT only warns
        [helper.make_node("Identity", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 2])],
    )
    path = write(folder, helper.make_model(stale, opset_imports=[helper.make_opsetid("", 13)]))
    result = onnx_files.import_file(str(path), str(folder), str(folder / "copy.onnx"), Limits())
    complaint = result["info"]["checker_error"]
    assert complaint.startswith("onnx.checker (full check) rejected the model") and "\n" not in complaint
    (outputs,) = onnx_files.ort_cpu_outputs(str(folder / "copy.onnx"), [{"x": np.ones((2, 3), np.float32)}])
    assert outputs[0].shape == (2, 3)
    with pytest.raises(InvalidModelError, match="rejected the model"):  # an exporter's file is still held to it
        inspect_artifact(folder / "copy.onnx")


def test_a_file_the_checker_and_onnx_runtime_both_refuse_is_a_model_error_with_both_reasons(folder: Path) -> None:
    unknown = helper.make_graph(
        [helper.make_node("NoSuchOp", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    path = write(folder, helper.make_model(unknown, opset_imports=[helper.make_opsetid("", 13)]))
    with pytest.raises(onnx_files.ModelError) as caught:
        onnx_files.import_file(str(path), str(folder), str(folder / "copy.onnx"), Limits())
    message = str(caught.value)
    assert message.startswith("onnx.checker (full check) rejected the model") and "\n" not in message
    assert "; ONNX Runtime's CPU provider refused it too: " in message and "NoSuchOp" in message.split("too: ")[1]


def test_a_file_both_accept_has_no_complaint(folder: Path) -> None:
    path = write(folder, small_model())
    info = onnx_files.import_file(str(path), str(folder), str(folder / "copy.onnx"), Limits())["info"]
    assert info["checker_error"] == "" and info["node_count"] == 1
