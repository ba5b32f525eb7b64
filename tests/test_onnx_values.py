"""Stored values are read as the proto their graph declares (tensor, sequence, map, optional), into
Python values, their real payload capped before anything is allocated."""

import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from suite.onnx_files import values
from suite.onnx_files.safe_read import MIB, Limits, SourceRejected
from suite.onnx_files.sources import specs_from_dirs, stored_data
from suite.onnx_files.values import read_value
from suite.workers import onnx_files  # noqa: TID251 - its ORT function, in-process on hand-built files

FLOAT_SEQ = helper.make_sequence_type_proto(helper.make_tensor_type_proto(TensorProto.FLOAT, None))
STR_FLOAT_MAP = helper.make_map_type_proto(TensorProto.STRING, helper.make_tensor_type_proto(TensorProto.FLOAT, []))
INT_FLOAT_MAP = helper.make_map_type_proto(TensorProto.INT64, helper.make_tensor_type_proto(TensorProto.FLOAT, []))
OPT_TENSOR = helper.make_optional_type_proto(helper.make_tensor_type_proto(TensorProto.FLOAT, [2]))
OPT_SEQ = helper.make_optional_type_proto(FLOAT_SEQ)


def value_file(path: Path, proto: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(proto.SerializeToString())
    return path


def map_proto(keys: Sequence[str | int], floats: Sequence[float], name: str = "m") -> onnx.MapProto:
    """numpy_helper.from_dict cannot make string keys (onnx 1.23): built by hand."""
    proto = onnx.MapProto(name=name)
    if isinstance(keys[0], str):
        proto.key_type = TensorProto.STRING
        proto.string_keys.extend(k.encode() for k in keys)
    else:
        proto.key_type = TensorProto.INT64
        proto.keys.extend(keys)
    proto.values.CopyFrom(numpy_helper.from_list([np.array(v, np.float32) for v in floats]))
    return proto


def entry(root: Path, graph: onnx.GraphProto, *data_sets: tuple[Sequence[Any], Sequence[Any]]) -> Path:
    """A model folder in the ONNX Model Zoo layout: model.onnx and test_data_set_N/input_K.pb, output_K.pb."""
    folder = root / "zoo" / graph.name
    folder.mkdir(parents=True)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)
    (folder / "model.onnx").write_bytes(model.SerializeToString())
    for index, (inputs, outputs) in enumerate(data_sets):
        for kind, protos in (("input", inputs), ("output", outputs)):
            for k, proto in enumerate(protos):
                value_file(folder / f"test_data_set_{index}" / f"{kind}_{k}.pb", proto)
    return folder


def stored(root: Path, graph: onnx.GraphProto, *data_sets: tuple[Sequence[Any], Sequence[Any]], index: int = 0) -> Any:
    entry(root, graph, *data_sets)
    (spec,) = specs_from_dirs([str(root / "zoo")], {}, Limits(), root / "unpacked")
    assert not spec.file_source.problem
    return stored_data(spec.file_source, spec.input_names(), index, Limits())


def test_sequences_maps_and_optionals_are_read_as_the_graph_declares_them(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("SequenceConstruct", ["x", "x"], ["s"])],
        "containers",
        [helper.make_value_info(n, t) for n, t in [("parts", FLOAT_SEQ), ("m", STR_FLOAT_MAP), ("o", OPT_TENSOR)]]
        + [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [
            helper.make_value_info(n, t)
            for n, t in [("s", FLOAT_SEQ), ("ids", INT_FLOAT_MAP), ("none", OPT_TENSOR), ("maybe", OPT_SEQ)]
        ],
    )
    parts = [np.arange(2, dtype=np.float32), np.ones(3, np.float32)]
    inputs = [
        numpy_helper.from_list(parts, "parts"),
        map_proto(["a", "b"], [1.5, 2.5]),
        numpy_helper.from_optional(np.array([3, 4], np.float32), "o"),
        numpy_helper.from_array(np.array([5, 6], np.float32), "x"),
    ]
    outputs = [
        numpy_helper.from_list([np.zeros(2, np.float32)] * 2),
        map_proto([7, 9], [0.5, 1.0]),
        numpy_helper.from_optional(None, dtype=onnx.OptionalProto.TENSOR),
        numpy_helper.from_optional([np.ones(1, np.float32)]),
    ]
    data = stored(tmp_path, graph, (inputs, outputs))
    fed = dict(data.inputs)
    assert [a.tolist() for a in fed["parts"]] == [[0.0, 1.0], [1.0, 1.0, 1.0]]
    assert fed["m"] == {"a": 1.5, "b": 2.5} and all(type(k) is str for k in fed["m"])
    np.testing.assert_array_equal(fed["o"], [3, 4])
    sequence, ids, none, maybe = data.outputs
    assert isinstance(sequence, list) and len(sequence) == 2 and sequence[0].dtype == np.float32
    assert ids == {7: 0.5, 9: 1.0} and all(type(k) is int for k in ids)
    assert none is None
    assert isinstance(maybe, list) and maybe[0].tolist() == [1.0]


def test_a_sequence_read_as_a_tensor_is_what_broke_and_read_as_declared_it_is_a_list(tmp_path: Path) -> None:
    path = value_file(tmp_path / "test_data_set_0" / "output_0.pb", numpy_helper.from_list([np.ones(2)], "seq"))
    with pytest.raises(SourceRejected, match=r"more than the 2048 MiB cap|segment|cannot be read"):
        read_value(path, tmp_path, Limits())  # the old reading: a TensorProto, its name bytes as dims
    name, value = read_value(path, tmp_path, Limits(), FLOAT_SEQ)
    assert name == "seq" and isinstance(value, list) and value[0].tolist() == [1.0, 1.0]


def test_nested_declarations_are_followed(tmp_path: Path) -> None:
    nested = helper.make_sequence_type_proto(FLOAT_SEQ)
    proto = numpy_helper.from_list([[np.ones(1, np.float32)], [np.zeros(2, np.float32), np.ones(1, np.float32)]])
    path = value_file(tmp_path / "d" / "input_0.pb", proto)
    value = read_value(path, tmp_path, Limits(), nested)[1]
    assert [[a.tolist() for a in inner] for inner in value] == [[[1.0]], [[0.0, 0.0], [1.0]]]
    optional_map = helper.make_optional_type_proto(helper.make_sequence_type_proto(STR_FLOAT_MAP))
    proto = onnx.OptionalProto(elem_type=onnx.OptionalProto.SEQUENCE)
    proto.sequence_value.elem_type = onnx.SequenceProto.MAP
    proto.sequence_value.map_values.append(map_proto(["z"], [4.0]))
    assert read_value(value_file(tmp_path / "d" / "input_1.pb", proto), tmp_path, Limits(), optional_map)[1] == [
        {"z": 4.0}
    ]


def mismatched_sequence() -> onnx.SequenceProto:
    proto = onnx.SequenceProto(elem_type=onnx.SequenceProto.MAP)
    proto.map_values.append(map_proto(["a"], [1.0]))
    return proto


@pytest.mark.parametrize(
    ("proto", "declared", "message"),
    [
        (mismatched_sequence(), FLOAT_SEQ, "holds a sequence of maps but the graph declares a sequence of tensors"),
        (map_proto([1], [1.0]), STR_FLOAT_MAP, "holds a map with int64 keys but the graph declares string keys"),
        (map_proto(["a", "a"], [1.0, 2.0]), STR_FLOAT_MAP, "a key given twice"),
        (
            numpy_helper.from_optional([np.ones(1, np.float32)]),
            OPT_TENSOR,
            "holds an optional of sequences but the graph declares an optional of tensors",
        ),
        (
            onnx.SparseTensorProto(),
            helper.make_sparse_tensor_type_proto(TensorProto.FLOAT, [2]),
            "declares a sparse tensor value",
        ),
    ],
)
def test_a_value_that_is_not_what_the_graph_declares_is_one_line(
    tmp_path: Path, proto: Any, declared: Any, message: str
) -> None:
    path = value_file(tmp_path / "test_data_set_0" / "input_0.pb", proto)
    with pytest.raises(SourceRejected, match=message) as caught:
        read_value(path, tmp_path, Limits(), declared)
    assert str(caught.value).startswith("test_data_set_0/input_0.pb") and "\n" not in str(caught.value)


def test_a_map_with_more_keys_than_values_is_refused(tmp_path: Path) -> None:
    proto = map_proto(["a", "b"], [1.0, 2.0])
    proto.string_keys.append(b"c")
    with pytest.raises(SourceRejected, match="a map of 3 keys but 2 values"):
        read_value(value_file(tmp_path / "d" / "input_0.pb", proto), tmp_path, Limits(), STR_FLOAT_MAP)


def test_a_hostile_sequence_is_refused_before_its_tensors_are_allocated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    huge = onnx.SequenceProto(name="s", elem_type=onnx.SequenceProto.TENSOR)
    huge.tensor_values.add(data_type=TensorProto.FLOAT, dims=[1 << 20, 1 << 20])  # 4 TiB declared, no data
    path = value_file(tmp_path / "d" / "input_0.pb", huge)
    with pytest.raises(SourceRejected, match=r"declares \[1048576, 1048576\] .* more than the 2048 MiB cap"):
        read_value(path, tmp_path, Limits(), FLOAT_SEQ)
    # Every tensor under the cap, together over it: refused at the one that crosses it, unconverted.
    many = numpy_helper.from_list([np.zeros(64 * 1024, np.float32)] * 20, "s")  # 20 x 256 KiB = 5 MiB
    path = value_file(tmp_path / "d" / "input_1.pb", many)
    converted: list[int] = []
    to_array = numpy_helper.to_array
    monkeypatch.setattr(numpy_helper, "to_array", lambda t, *a: converted.append(1) or to_array(t, *a))
    with pytest.raises(SourceRejected, match="its values come to more than the 1 MiB cap"):
        read_value(path, tmp_path, Limits(max_tensor_bytes=MIB), FLOAT_SEQ)
    assert len(converted) == 3  # 3 x 256 KiB (and their overhead) fit in 1 MiB, the fourth does not


def test_a_declared_map_or_sequence_with_little_payload_but_many_entries_is_capped(tmp_path: Path) -> None:
    many = numpy_helper.from_list([np.zeros(0, np.float32)] * 20_000, "s")  # empty tensors: ~4 bytes each on disk
    path = value_file(tmp_path / "d" / "input_0.pb", many)
    assert path.stat().st_size < 200_000
    with pytest.raises(SourceRejected, match="its values come to more than"):
        read_value(path, tmp_path, Limits(max_tensor_bytes=MIB), FLOAT_SEQ)  # 20,000 arrays cost far more


def test_string_tensors_are_object_arrays_without_the_width_of_the_longest(tmp_path: Path) -> None:
    texts = ["x" * 20_000] + [""] * 999  # as a fixed-width numpy array: 1000 x 20,000 x 4 bytes = 80 MB
    path = value_file(tmp_path / "d" / "input_0.pb", numpy_helper.from_array(np.array(texts, dtype=object), "t"))
    tracemalloc.start()
    try:
        value = read_value(path, tmp_path, Limits())[1]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert value.dtype == object and value.shape == (1000,) and value[0] == texts[0] and value[1] == ""
    assert peak < 8 * MIB
    bad = TensorProto(name="t", data_type=TensorProto.STRING, dims=[1], string_data=[b"\xff\xfe"])
    with pytest.raises(SourceRejected, match="not UTF-8"):
        read_value(value_file(tmp_path / "d" / "input_1.pb", bad), tmp_path, Limits())
    short = TensorProto(name="t", data_type=TensorProto.STRING, dims=[3], string_data=[b"a"])
    with pytest.raises(SourceRejected, match="holds 1 strings but its dims"):
        read_value(value_file(tmp_path / "d" / "input_2.pb", short), tmp_path, Limits())


@pytest.mark.parametrize(
    ("dtype", "data_type"),
    [
        (ml_dtypes.int4, TensorProto.INT4),
        (ml_dtypes.uint4, TensorProto.UINT4),
        (ml_dtypes.float4_e2m1fn, TensorProto.FLOAT4E2M1),
        (ml_dtypes.int2, TensorProto.INT2),
        (ml_dtypes.uint2, TensorProto.UINT2),
        (ml_dtypes.float6_e2m3fn, TensorProto.FLOAT6E2M3),
        (ml_dtypes.bfloat16, TensorProto.BFLOAT16),
        (ml_dtypes.float8_e4m3fn, TensorProto.FLOAT8E4M3FN),
        (ml_dtypes.float8_e5m2, TensorProto.FLOAT8E5M2),
    ],
)
def test_narrow_types_read_to_their_ml_dtypes_arrays_raw_or_typed(tmp_path: Path, dtype: Any, data_type: int) -> None:
    array = np.array([0, 1, 1, 0, 1, 0, 1], dtype=np.float32).astype(dtype).reshape(7, 1)
    raw = value_file(tmp_path / "d" / "input_0.pb", numpy_helper.from_array(array, "x"))
    value = read_value(raw, tmp_path, Limits())[1]
    assert value.dtype == np.dtype(dtype) and value.shape == (7, 1)
    np.testing.assert_array_equal(value.astype(np.float32), array.astype(np.float32))
    typed = helper.make_tensor("x", data_type, [7, 1], array.astype(np.float32).ravel().tolist())
    assert not typed.HasField("raw_data")
    value = read_value(value_file(tmp_path / "d" / "input_1.pb", typed), tmp_path, Limits())[1]
    np.testing.assert_array_equal(value.astype(np.float32), array.astype(np.float32))


def test_a_packed_tensor_short_of_its_bytes_or_typed_values_is_refused(tmp_path: Path) -> None:
    tensor = numpy_helper.from_array(np.ones((7, 1), ml_dtypes.int4), "x")
    tensor.raw_data = tensor.raw_data[:3]
    with pytest.raises(SourceRejected, match=r"holds 3 bytes but its dims \[7, 1\] and type need 4"):
        read_value(value_file(tmp_path / "d" / "input_0.pb", tensor), tmp_path, Limits())
    typed = TensorProto(name="x", data_type=TensorProto.INT64, dims=[1 << 20], int64_data=[1, 2])
    with pytest.raises(SourceRejected, match=r"holds 2 values in int64_data but its dims \[1048576\] and type need"):
        read_value(value_file(tmp_path / "d" / "input_1.pb", typed), tmp_path, Limits())


def test_typed_counts_of_packed_and_complex_types() -> None:
    assert values.typed_count(TensorProto.INT4, 7) == 4 and values.typed_count(TensorProto.UINT2, 9) == 3
    assert values.typed_count(TensorProto.COMPLEX64, 3) == 6 and values.typed_count(TensorProto.FLOAT, 3) == 3


def ort_run(tmp_path: Path, graph: onnx.GraphProto, feeds: dict[str, Any]) -> list[Any]:
    ops = [helper.make_opsetid("", 21), helper.make_opsetid("ai.onnx.ml", 3)]
    path = tmp_path / f"{graph.name}.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=ops, ir_version=10).SerializeToString())
    return onnx_files.ort_cpu_outputs(str(path), [feeds])[0]


def test_what_onnx_runtime_takes_and_gives_for_containers_as_measured(tmp_path: Path) -> None:
    """ORT 1.32's Python API: a list for a sequence in and out, a dict for a map in, None for an empty
    optional in and out, the element itself for a present one, a list of dicts (Python float values)
    for ZipMap's sequence of maps; float8e4m3fn comes back as uint8 bits, viewed back here."""
    graph = helper.make_graph(
        [
            helper.make_node("SequenceLength", ["parts"], ["n"]),
            helper.make_node("SequenceConstruct", ["x", "x"], ["pair"]),
            helper.make_node("OptionalHasElement", ["maybe"], ["has"]),
            helper.make_node("Optional", [], ["none"], type=helper.make_tensor_type_proto(TensorProto.FLOAT, [2])),
            helper.make_node("DictVectorizer", ["m"], ["dense"], domain="ai.onnx.ml", string_vocabulary=["a", "b"]),
            helper.make_node("ZipMap", ["probs"], ["zipped"], domain="ai.onnx.ml", classlabels_strings=["a", "b"]),
            helper.make_node("Cast", ["x"], ["f8"], to=TensorProto.FLOAT8E4M3FN),
        ],
        "containers",
        [
            helper.make_value_info("parts", FLOAT_SEQ),
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [2]),
            helper.make_value_info("maybe", OPT_TENSOR),
            helper.make_value_info("m", STR_FLOAT_MAP),
            helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 2]),
        ],
        [
            helper.make_tensor_value_info("n", TensorProto.INT64, []),
            helper.make_value_info("pair", FLOAT_SEQ),
            helper.make_tensor_value_info("has", TensorProto.BOOL, []),
            helper.make_value_info("none", OPT_TENSOR),
            helper.make_tensor_value_info("dense", TensorProto.FLOAT, [1, 2]),
            helper.make_value_info("zipped", helper.make_sequence_type_proto(STR_FLOAT_MAP)),
            helper.make_tensor_value_info("f8", TensorProto.FLOAT8E4M3FN, [2]),
        ],
    )
    x = np.array([1.0, 2.0], np.float32)
    feeds = {"parts": [x, x, x], "x": x, "maybe": None, "m": {"b": 3.0}, "probs": np.array([[0.25, 0.75]], np.float32)}
    n, pair, has, none, dense, zipped, f8 = ort_run(tmp_path, graph, feeds)
    assert n.tolist() == 3 and isinstance(pair, list) and [a.tolist() for a in pair] == [[1.0, 2.0]] * 2
    assert has.tolist() is False and none is None
    assert dense.tolist() == [[0.0, 3.0]]
    assert zipped == [{"a": 0.25, "b": 0.75}] and type(zipped[0]["a"]) is float
    assert f8.dtype == ml_dtypes.float8_e4m3fn and f8.astype(np.float32).tolist() == [1.0, 2.0]
    assert ort_run(tmp_path, graph, {**feeds, "maybe": x})[2].tolist() is True


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.ones(2, ml_dtypes.bfloat16), "can't be converted to MLDataType"),
        (np.ones(2, ml_dtypes.int4), "can't be converted to MLDataType"),
    ],
)
def test_onnx_runtime_takes_no_numpy_array_of_bfloat16_or_int4_as_measured(
    tmp_path: Path, array: np.ndarray, message: str
) -> None:
    data_type = helper.np_dtype_to_tensor_dtype(array.dtype)
    graph = helper.make_graph(
        [helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT)],
        "narrow",
        [helper.make_tensor_value_info("x", data_type, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    with pytest.raises(RuntimeError, match=message):
        ort_run(tmp_path, graph, {"x": array})
