"""Stored values from outside (test data input_K.pb / output_K.pb), read as the graph declares them.

A value file is parsed as the proto its graph input or output's TypeProto names: a TensorProto, a
SequenceProto, a MapProto or an OptionalProto, nested as declared. It becomes a Python value: an
np.ndarray for a tensor, a list for a sequence, a dict for a map (keys as str or int), None for an
empty optional (the element itself for a present one).

Like safe_read, nothing is trusted: a tensor's declared size is capped and its payload (raw_data or
its typed field) must be exactly what its dims and type need before numpy sees it, and the whole
value (every tensor, string and Python object it makes) counts against one cap, so a sequence of many
small tensors cannot allocate more than one big one. Test data is always inline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np

from suite.onnx_files.safe_read import (
    MIB,
    Limits,
    SourceRejected,
    check_declared_size,
    declared_bytes,
    decoded_bytes,
    element_count,
    read_bytes,
)

# What a stored value or a generated input is, as ONNX Runtime's Python API takes and returns it.
Value: TypeAlias = "np.ndarray | list[Value] | dict[str | int, Value] | None"

# About what one Python object made here (an array header, a str, a list slot, a dict entry) costs
# beside its data: counted against the cap, so many tiny values cost what they really take.
OBJECT_BYTES = 128
_STRING = 8  # TensorProto.STRING
_PROTOS = {
    "tensor_type": "TensorProto",
    "sequence_type": "SequenceProto",
    "map_type": "MapProto",
    "optional_type": "OptionalProto",
}
# Per element kind: SequenceProto/OptionalProto's elem_type (one numbering for both), the
# SequenceProto field that holds such elements, the OptionalProto field that holds one.
_ELEMENTS = {
    "tensor_type": (1, "tensor_values", "tensor_value"),
    "sequence_type": (3, "sequence_values", "sequence_value"),
    "map_type": (4, "map_values", "map_value"),
    "optional_type": (5, "optional_values", "optional_value"),
}
_KIND_NAMES = {"tensor_type": "tensors", "sequence_type": "sequences", "map_type": "maps", "optional_type": "optionals"}
_ELEM_NAMES = {0: "undefined", 1: "tensors", 2: "sparse tensors", 3: "sequences", 4: "maps", 5: "optionals"}


def kind_of(declared: Any | None) -> str:
    """ "tensor_type", "sequence_type", "map_type" or "optional_type" for a TypeProto (a tensor when
    nothing is declared, as every stored value was read before types were)."""
    kind = declared.WhichOneof("value") if declared is not None else None
    if kind is None:
        return "tensor_type"
    if kind not in _PROTOS:
        named = kind.removesuffix("_type").replace("_", " ")
        raise SourceRejected(f"the graph declares a {named} value, which is not read from test data")
    return kind


def read_value(path: Path, folder: Path, limits: Limits, declared: Any | None = None) -> tuple[str, Value]:
    """A stored value inside `folder`: its proto's name and its value, parsed as `declared` (a
    TypeProto; None: a tensor) says, sizes checked before anything is allocated."""
    reader = _Reader(f"{path.parent.name}/{path.name}", limits)
    proto = _parse(read_bytes(path, folder, limits, "test data"), reader.kind(declared), reader.where)
    return proto.name, reader.value(proto, declared)


def _parse(data: bytes, kind: str, where: str) -> Any:
    import onnx
    from google.protobuf.message import DecodeError

    proto = getattr(onnx, _PROTOS[kind])()
    try:
        proto.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise SourceRejected(f"{where} is not a valid {_PROTOS[kind]} ({exc})") from None
    return proto


@dataclass
class _Reader:
    """Turns one file's proto into its value, counting every byte it allocates against the cap."""

    where: str
    limits: Limits
    spent: int = 0

    def kind(self, declared: Any | None) -> str:
        try:
            return kind_of(declared)
        except SourceRejected as exc:
            raise SourceRejected(f"{self.where}: {exc}") from None

    def value(self, proto: Any, declared: Any | None) -> Value:
        kind = self.kind(declared)
        if kind == "sequence_type":
            return self.sequence(proto, declared.sequence_type.elem_type)
        if kind == "map_type":
            return self.map(proto, declared.map_type)
        if kind == "optional_type":
            return self.optional(proto, declared.optional_type.elem_type)
        return self.tensor(proto)

    def spend(self, size: int) -> None:
        """Count `size` bytes against the cap before they are allocated."""
        self.spent += size
        if self.spent > self.limits.max_tensor_bytes:
            raise SourceRejected(
                f"{self.where}: its values come to more than the {self.limits.max_tensor_bytes / MIB:.0f} MiB cap"
            )

    def sequence(self, proto: Any, element: Any) -> list[Value]:
        kind = self.kind(element)
        items = getattr(proto, self._only_field(proto, kind))
        self.spend(OBJECT_BYTES * len(items))
        return [self.value(item, element) for item in items]

    def _only_field(self, proto: Any, kind: str) -> str:
        """The SequenceProto field of the declared element kind, where it is the only one used."""
        elem_type, field, _ = _ELEMENTS[kind]
        others = [f for _, f, _ in _ELEMENTS.values() if f != field and len(getattr(proto, f))]
        if proto.elem_type not in (0, elem_type) or others or len(proto.sparse_tensor_values):
            held = _ELEM_NAMES.get(proto.elem_type, str(proto.elem_type))
            raise SourceRejected(
                f"{self.where} holds a sequence of {held} but the graph declares a sequence of {_KIND_NAMES[kind]}"
            )
        return field

    def map(self, proto: Any, declared: Any) -> dict[str | int, Value]:
        if proto.key_type != declared.key_type:
            raise SourceRejected(
                f"{self.where} holds a map with {_type_name(proto.key_type)} keys but the graph declares "
                f"{_type_name(declared.key_type)} keys"
            )
        raw_keys = proto.string_keys if declared.key_type == _STRING else proto.keys
        count = len(getattr(proto.values, _ELEMENTS[self.kind(declared.value_type)][1]))
        if len(raw_keys) != count:
            raise SourceRejected(f"{self.where} holds a map of {len(raw_keys)} keys but {count} values")
        self.spend(OBJECT_BYTES * len(raw_keys) + (sum(map(len, raw_keys)) if declared.key_type == _STRING else 0))
        keys = [self._text(k) for k in raw_keys] if declared.key_type == _STRING else [int(k) for k in raw_keys]
        if len(set(keys)) != len(keys):
            raise SourceRejected(f"{self.where} holds a map with a key given twice")
        return dict(zip(keys, self.sequence(proto.values, declared.value_type), strict=True))

    def optional(self, proto: Any, element: Any) -> Value:
        kind = self.kind(element)
        elem_type, _, field = _ELEMENTS[kind]
        present = [f for _, _, f in _ELEMENTS.values() if proto.HasField(f)] + (
            ["sparse_tensor_value"] if proto.HasField("sparse_tensor_value") else []
        )
        if proto.elem_type not in (0, elem_type) or present not in ([], [field]):
            held = _ELEM_NAMES.get(proto.elem_type, str(proto.elem_type))
            raise SourceRejected(
                f"{self.where} holds an optional of {held} but the graph declares an optional of {_KIND_NAMES[kind]}"
            )
        return self.value(getattr(proto, field), element) if present else None

    def tensor(self, tensor: Any) -> np.ndarray:
        from onnx import numpy_helper

        if tensor.data_location == tensor.EXTERNAL:
            raise SourceRejected(f"{self.where} points at external data; test data must be inline")
        if tensor.HasField("segment"):
            raise SourceRejected(f"{self.where} holds a segment of a tensor; test data must be whole")
        check_declared_size(tensor, self.limits, self.where)
        if tensor.data_type == _STRING:
            return self.strings(tensor)
        self._check_payload(tensor)
        self.spend(decoded_bytes(tensor) + OBJECT_BYTES)
        try:
            return numpy_helper.to_array(tensor)
        except Exception as exc:  # noqa: BLE001 - whatever onnx says about a malformed tensor, in one line
            raise SourceRejected(f"{self.where} cannot be read as an array: {exc}") from None

    def _check_payload(self, tensor: Any) -> None:
        """The tensor's bytes or typed values are exactly what its dims and type need."""
        if tensor.HasField("raw_data"):
            expected = declared_bytes(tensor)
            if len(tensor.raw_data) != expected:
                raise SourceRejected(
                    f"{self.where}: holds {len(tensor.raw_data)} bytes but its dims "
                    f"{list(tensor.dims)} and type need {expected}"
                )
            return
        field = _typed_field(tensor.data_type)
        if field is None:
            raise SourceRejected(f"{self.where} has element type {tensor.data_type}, which is no ONNX tensor type")
        have, need = len(getattr(tensor, field)), typed_count(tensor.data_type, element_count(tensor))
        if have != need:
            raise SourceRejected(
                f"{self.where}: holds {have} values in {field} but its dims {list(tensor.dims)} and type need {need}"
            )

    def strings(self, tensor: Any) -> np.ndarray:
        """A string tensor as an object array of str. Not onnx's to_array: np.asarray of the strings
        makes a fixed-width array as wide as the longest, which one long string makes huge."""
        if tensor.HasField("raw_data"):
            raise SourceRejected(f"{self.where}: a string tensor keeps its values in string_data, not raw_data")
        count = element_count(tensor)
        if len(tensor.string_data) != count:
            raise SourceRejected(
                f"{self.where}: holds {len(tensor.string_data)} strings but its dims {list(tensor.dims)} need {count}"
            )
        self.spend(sum(map(len, tensor.string_data)) + OBJECT_BYTES * (count + 1))
        array = np.empty(count, dtype=object)
        array[:] = [self._text(s) for s in tensor.string_data]
        return array.reshape(tuple(tensor.dims))

    def _text(self, data: bytes) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise SourceRejected(f"{self.where} holds a string that is not UTF-8") from None


def typed_count(data_type: int, count: int) -> int:
    """How many entries of its typed field a tensor of `count` values holds: 4-bit values go two to
    an int32_data entry and 2-bit four, complex values take two; the rest one each."""
    if data_type in (21, 22, 23):  # UINT4, INT4, FLOAT4E2M1
        return -(-count // 2)
    if data_type in (25, 26):  # UINT2, INT2
        return -(-count // 4)
    if data_type in (14, 15):  # COMPLEX64, COMPLEX128: real and imaginary parts
        return 2 * count
    return count


def _typed_field(data_type: int) -> str | None:
    import onnx

    try:
        return str(onnx.helper.tensor_dtype_to_field(data_type))
    except (KeyError, TypeError, ValueError):
        return None


def _type_name(data_type: int) -> str:
    import onnx

    try:
        return str(onnx.TensorProto.DataType.Name(data_type)).lower()
    except ValueError:
        return str(data_type)


__all__ = ["OBJECT_BYTES", "Value", "kind_of", "read_value", "typed_count"]
