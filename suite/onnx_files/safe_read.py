"""Reading ONNX files from outside without trusting them.

A zoo folder from another team or a model hub is untrusted input. Every read here checks before it
allocates or follows anything:
- file sizes against a cap, before a byte is parsed;
- declared tensor sizes (initializers here, test data values in suite.onnx_files.values) against a
  cap, before numpy sees them, packed sub-byte types (int4, int2, float4, float6) at their packed size;
- external data: a relative location, no `..`, resolved through symlinks to a regular file inside
  the model's own folder, its offset and length inside that file (onnx has had several CVEs here);
- archives: every member a plain file or folder with a relative name inside the archive, their
  declared sizes and count capped, extracted with tarfile's `data` filter all the same.
Nothing read is executed or unpickled: protobuf parsing and numpy buffers only. A file that fails a
check raises SourceRejected with one line that names the file and what was wrong.
"""

from __future__ import annotations

import os
import shutil
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np

MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Caps on what one file from outside may make the suite read or allocate."""

    max_file_bytes: int = 2048 * MIB  # one model, external data or test data file
    max_tensor_bytes: int = 2048 * MIB  # one declared tensor (initializer, test data, generated input)
    max_archive_bytes: int = 4096 * MIB  # the members of one archive, all together
    max_archive_members: int = 10_000
    # Address space of the onnx worker, where a file from outside first meets onnx and ONNX Runtime:
    # a small graph can still ask for huge tensors at run time (ConstantOfShape, Expand, Tile).
    max_worker_bytes: int = 10240 * MIB


class SourceRejected(ValueError):
    """A file from outside failed a safety or validity check; the message is one line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))  # library errors quoted in it may span lines


def read_bytes(path: Path, folder: Path, limits: Limits, what: str = "file") -> bytes:
    """The bytes of a regular file inside `folder` (symlinks resolved) no larger than the cap."""
    if not is_inside(folder, path):
        raise SourceRejected(f"{what} {path.name} is a symlink that leads out of its folder")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SourceRejected(f"{what} {path.name} cannot be read: {exc.strerror or exc}") from None
    if not path.is_file():
        raise SourceRejected(f"{what} {path.name} is not a regular file")
    if size > limits.max_file_bytes:
        raise SourceRejected(
            f"{what} {path.name} is {size / MIB:.0f} MiB, more than the {limits.max_file_bytes / MIB:.0f} MiB cap"
        )
    return path.read_bytes()


def parse_model(data: bytes, name: str) -> Any:
    """An onnx.ModelProto parsed from bytes; external data is not touched."""
    import onnx
    from google.protobuf.message import DecodeError

    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise SourceRejected(f"{name} is not a valid ONNX model (truncated or corrupt protobuf: {exc})") from None
    if not model.HasField("graph"):
        raise SourceRejected(f"{name} holds no graph (an empty or foreign protobuf, not an ONNX model)")
    return model


def read_model_header(path: Path, folder: Path, limits: Limits) -> Any:
    """The model's protobuf with external data left unread (for its opset, inputs and outputs)."""
    return parse_model(read_bytes(path, folder, limits, "model"), path.name)


def read_model(path: Path, folder: Path, limits: Limits) -> Any:
    """The model with every tensor's data inline: declared sizes checked, external data read only from
    inside `folder` (the model's own folder) and only within the bounds the file declares."""
    model = read_model_header(path, folder, limits)
    for tensor in _all_tensors(model.graph):
        check_declared_size(tensor, limits, f"initializer {tensor.name!r}")
        if tensor.data_location == tensor.EXTERNAL:
            _load_external(tensor, folder, limits)
    return model


def _all_tensors(graph: Any) -> Iterator[Any]:
    """Every initializer and constant tensor of a graph and its subgraphs (If, Loop, Scan bodies)."""
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            if attr.HasField("g"):
                yield from _all_tensors(attr.g)
            for sub in attr.graphs:
                yield from _all_tensors(sub)


# Bits per value of the packed types: raw_data holds 2 (4-bit), 4 (2-bit) or 4-per-3-bytes (6-bit)
# values per byte, so their stored size is not count * itemsize (numpy's unpacked arrays take a byte each).
_PACKED_BITS = {21: 4, 22: 4, 23: 4, 25: 2, 26: 2, 27: 6, 28: 6}  # UINT4 INT4 FLOAT4E2M1 UINT2 INT2 FLOAT6*


def element_count(tensor: Any) -> int:
    """How many values a tensor's dims declare (a negative dim is rejected)."""
    count = 1
    for dim in tensor.dims:
        if dim < 0:
            raise SourceRejected(f"tensor {tensor.name!r} declares a negative dim {dim}")
        count *= dim
    return count


def declared_bytes(tensor: Any) -> int:
    """What a tensor's dims and data type say its raw_data (or external data) holds, in bytes: packed
    for the sub-byte types, 1 per element for unknown types."""
    count = element_count(tensor)
    bits = _PACKED_BITS.get(tensor.data_type)
    if bits is not None:
        return -(-count * bits // 8)  # ceil: the last byte may be half used
    return count * _itemsize(tensor.data_type)


def decoded_bytes(tensor: Any) -> int:
    """What numpy allocates for the tensor's array (unpacked: a byte per sub-byte value; a pointer per
    string, their text apart)."""
    return element_count(tensor) * _itemsize(tensor.data_type)


def _itemsize(data_type: int) -> int:
    import onnx

    try:  # bfloat16, float8, int4 ... are ml_dtypes types, of 1 or 2 bytes
        return int(np.dtype(onnx.helper.tensor_dtype_to_np_dtype(data_type)).itemsize) or 1
    except (KeyError, TypeError, ValueError):
        return 1


def check_declared_size(tensor: Any, limits: Limits, what: str) -> int:
    """The tensor's array size in bytes, rejected over the cap before anything is allocated."""
    size = max(decoded_bytes(tensor), declared_bytes(tensor))
    if size > limits.max_tensor_bytes:
        raise SourceRejected(
            f"{what} declares {list(tensor.dims)} ({size / MIB:.0f} MiB), "
            f"more than the {limits.max_tensor_bytes / MIB:.0f} MiB cap"
        )
    return size


def confined(folder: Path, location: str, what: str) -> Path:
    """`location`, a path written in a file from outside, resolved inside `folder`.

    Rejects absolute paths (POSIX or Windows), any `..`, and symlinks that lead out of the folder.
    """
    if not location or "\x00" in location:
        raise SourceRejected(f"{what}: empty or malformed location {location!r}")
    posix, windows = PurePosixPath(location), PureWindowsPath(location)
    if posix.is_absolute() or windows.is_absolute() or windows.drive:
        raise SourceRejected(f"{what}: location {location!r} is absolute; it must be relative to the model's folder")
    if ".." in posix.parts or ".." in windows.parts:
        raise SourceRejected(f"{what}: location {location!r} contains '..'; it must stay in the model's folder")
    target = Path(folder) / location
    if not is_inside(folder, target):
        raise SourceRejected(f"{what}: location {location!r} leads out of the model's folder (through a symlink)")
    return Path(os.path.realpath(target))


def is_inside(folder: Path, path: Path) -> bool:
    """Whether `path`, symlinks resolved, is `folder` or lies under it."""
    root, target = Path(os.path.realpath(folder)), Path(os.path.realpath(path))
    return target == root or root in target.parents


def _load_external(tensor: Any, folder: Path, limits: Limits) -> None:
    """Read an external tensor's bytes into the tensor, after checking where and how much."""
    info = {entry.key: entry.value for entry in tensor.external_data}
    what = f"external data of {tensor.name!r}"
    target = confined(folder, info.get("location", ""), what)
    if not target.is_file():
        raise SourceRejected(f"{what}: {info.get('location')!r} is not a file in the model's folder")
    try:
        offset = int(info.get("offset", 0))
        size = target.stat().st_size
        length = int(info["length"]) if "length" in info else size - offset
    except ValueError:
        raise SourceRejected(f"{what}: offset or length is not a number") from None
    if offset < 0 or length < 0:
        raise SourceRejected(f"{what}: offset {offset} or length {length} is negative")
    if offset + length > size:
        raise SourceRejected(
            f"{what}: offset {offset} and length {length} reach past the end of {info['location']!r} ({size} bytes)"
        )
    expected = declared_bytes(tensor)
    if length != expected:
        raise SourceRejected(f"{what}: holds {length} bytes but its dims and type need {expected}")
    with target.open("rb") as handle:
        handle.seek(offset)
        tensor.raw_data = handle.read(length)
    del tensor.external_data[:]
    tensor.data_location = tensor.DEFAULT


def extract_archive(archive: Path, dest: Path, limits: Limits) -> Path:
    """Unpack a .tar.gz into `dest` (once: an unpacked copy is reused) and return `dest`.

    Only plain files and folders with relative names inside the archive are accepted, their count and
    declared sizes capped before anything is written; a truncated or foreign archive is rejected.
    """
    if (dest / ".complete").is_file():
        return dest
    partial = dest.with_name(dest.name + f".partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = _checked_members(tar, archive.name, limits)
            partial.mkdir(parents=True)
            tar.extractall(partial, members=members, filter="data")
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        shutil.rmtree(partial, ignore_errors=True)
        if isinstance(exc, SourceRejected):
            raise
        raise SourceRejected(f"archive {archive.name} cannot be unpacked ({type(exc).__name__}: {exc})") from None
    (partial / ".complete").write_text("")
    try:
        partial.rename(dest)  # whole or not at all: a reader never sees a half-unpacked folder
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)
        if not (dest / ".complete").is_file():
            raise SourceRejected(f"archive {archive.name}: cannot move the unpacked copy to {dest}") from None
        # else another process (a pytest-xdist worker) unpacked the same archive first
    return dest


def _checked_members(tar: tarfile.TarFile, name: str, limits: Limits) -> list[tarfile.TarInfo]:
    members, total = [], 0
    for member in tar:
        members.append(member)
        if len(members) > limits.max_archive_members:
            raise SourceRejected(f"archive {name} holds more than {limits.max_archive_members} members")
        if not (member.isfile() or member.isdir()):
            raise SourceRejected(f"archive {name}: member {member.name!r} is a link or device; only files are taken")
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts:
            raise SourceRejected(f"archive {name}: member {member.name!r} would land outside the unpacked folder")
        total += member.size
        if total > limits.max_archive_bytes:
            raise SourceRejected(
                f"archive {name} unpacks to more than the {limits.max_archive_bytes / MIB:.0f} MiB cap"
            )
    return members
