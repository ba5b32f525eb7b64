"""Independent check of an ONNX Model Zoo-layout folder: does onnxruntime CPU reproduce each stored data set 0?

Usage: python scripts/check_onnx_dir.py DIR      (DIR/<entry>/model.onnx or <entry>.onnx, test_data_set_0/*.pb)

The referee the suite is checked against: it imports nothing from suite/ and stays small enough to read at once.
"""

import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

# The declared type of a graph input/output says which proto its .pb file holds and how to read it.
READERS = {
    "tensor_type": (onnx.TensorProto, numpy_helper.to_array),
    "sequence_type": (onnx.SequenceProto, numpy_helper.to_list),
    "map_type": (onnx.MapProto, numpy_helper.to_dict),
    "optional_type": (onnx.OptionalProto, numpy_helper.to_optional),
}


def load(path: Path, type_proto: onnx.TypeProto) -> object:
    proto_class, to_value = READERS[type_proto.WhichOneof("value")]
    proto = proto_class()
    proto.ParseFromString(path.read_bytes())
    return text_keys(to_value(proto))


def text_keys(value: object) -> object:
    """to_dict gives string keys as the UTF-8 bytes they are stored as; ORT takes and gives str."""
    if isinstance(value, dict):
        return {k.decode() if isinstance(k, bytes) else k: text_keys(v) for k, v in value.items()}
    return [text_keys(v) for v in value] if isinstance(value, list) else value


def same(got: object, want: object, where: str = "") -> None:
    """Raise AssertionError where got differs from want: floats within tolerance (NaN equal NaN), the rest exactly."""
    if want is None or isinstance(want, list | dict):
        assert type(got) is type(want), f"{where}: got {type(got).__name__}, want {type(want).__name__}"
        assert want is None or len(got) == len(want), f"{where}: got {len(got)} items, want {len(want)}"
        for k in want if isinstance(want, dict) else range(len(want or [])):
            assert isinstance(want, list) or k in got, f"{where}: key {k!r} missing"
            same(got[k], want[k], f"{where}[{k!r}]")
        return
    if isinstance(got, np.ndarray):  # ORT gives a map's values as Python scalars: no dtype to compare there
        assert got.dtype == want.dtype and got.shape == want.shape, (
            f"{where}: got {got.dtype}{list(got.shape)}, want {want.dtype}{list(want.shape)}"
        )
    if want.dtype.kind in "fc" or want.dtype.name.startswith(("float", "bfloat")):  # ml_dtypes floats are kind 'V'
        rtol, atol = (1e-5, 1e-6) if want.dtype.itemsize >= 4 else (1e-2, 1e-3)  # 16 bits and narrower: ~1 ulp
        wide = np.complex128 if want.dtype.kind == "c" else np.float64
        np.testing.assert_allclose(
            np.asarray(got, wide), np.asarray(want, wide), rtol, atol, equal_nan=True, err_msg=where
        )
    else:
        np.testing.assert_array_equal(np.asarray(got), want, err_msg=where)


def check(folder: Path) -> str:
    model_path = folder / "model.onnx" if (folder / "model.onnx").is_file() else next(folder.glob("*.onnx"))
    graph = onnx.load(model_path).graph
    fed = [i for i in graph.input if i.name not in {t.name for t in graph.initializer}]
    data = folder / "test_data_set_0"
    feeds = {i.name: load(data / f"input_{k}.pb", i.type) for k, i in enumerate(fed)}
    wants = [load(data / f"output_{k}.pb", o.type) for k, o in enumerate(graph.output)]
    try:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        gots = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"]).run(None, feeds)
    except Exception as exc:  # noqa: BLE001 - whatever ORT raises is the verdict
        return "ort-error: " + (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    try:
        for k, (got, want) in enumerate(zip(gots, wants, strict=True)):
            same(got, want, graph.output[k].name)
    except AssertionError as exc:
        return "mismatch: " + " ".join(str(exc).split())[:200]
    return "match"


def main(argv: list[str]) -> int:
    root = Path(argv[0])
    verdicts = {p.name: check(p) for p in sorted(root.iterdir()) if p.is_dir()}
    for name, verdict in verdicts.items():
        print(f"{name:<32} {verdict}")
    counts = {v: sum(x.split(":")[0] == v for x in verdicts.values()) for v in ("match", "mismatch", "ort-error")}
    print(f"{len(verdicts)} entries: " + ", ".join(f"{n} {v}" for v, n in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
