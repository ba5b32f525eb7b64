"""Write onnx's own node test cases as a folder in the ONNX Model Zoo layout, for ``--zoo-onnx-dir DIR``.

Usage: python scripts/make_onnx_node_zoo.py OUT_DIR [--only GLOB]

onnx ships the Python definitions of its backend node tests (onnx.backend.test.case.node: about 1,900
one-op graphs of every op, type and container, with expected outputs from onnx's reference
implementations), but not their files. This writes them, one entry per case:

    OUT_DIR/<case>/model.onnx
    OUT_DIR/<case>/test_data_set_<N>/input_<K>.pb, output_<K>.pb

each value as the proto its graph input or output declares (TensorProto, SequenceProto, MapProto,
OptionalProto), as onnx's own `backend-test-tools generate-data` writes them. Nothing is downloaded.
A folder of files whose stored outputs are right: what the suite must judge without a fault of its own.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
import time
from pathlib import Path
from typing import Any

import onnx
from onnx import TensorProto, numpy_helper


def value_proto(value: Any, declared: onnx.TypeProto, name: str) -> Any:
    """`value` as the proto its declared type asks for."""
    if isinstance(value, TensorProto):
        return value
    if declared.HasField("map_type"):
        return numpy_helper.from_dict(value, name)
    if declared.HasField("sequence_type"):
        return numpy_helper.from_list(value, name)
    if declared.HasField("optional_type"):
        return numpy_helper.from_optional(value, name)
    return numpy_helper.from_array(value, name)


def write_case(case: Any, folder: Path) -> None:
    """One node test case: its model and each of its data sets."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.onnx").write_bytes(case.model.SerializeToString())
    graph = case.model.graph
    for index, (inputs, outputs) in enumerate(case.data_sets):
        data_set = folder / f"test_data_set_{index}"
        data_set.mkdir(exist_ok=True)
        for kind, values, declared in (("input", inputs, graph.input), ("output", outputs, graph.output)):
            for k, value in enumerate(values):
                proto = value_proto(value, declared[k].type, declared[k].name)
                (data_set / f"{kind}_{k}.pb").write_bytes(proto.SerializeToString())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--only", default="*", help="a glob over case names, e.g. 'test_cast_*'")
    args = parser.parse_args(argv)
    from onnx.backend.test.case import node

    start = time.perf_counter()
    written = 0
    for case in node.collect_testcases():
        if not fnmatch.fnmatchcase(case.name, args.only) or case.model is None or not case.data_sets:
            continue
        write_case(case, args.out_dir / case.name)
        written += 1
    seconds = time.perf_counter() - start
    print(f"wrote {written} node test cases of onnx {onnx.__version__} to {args.out_dir} in {seconds:.1f} s")
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
