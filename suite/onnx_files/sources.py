"""Zoo entries from folders of ONNX files (--zoo-onnx-dir), in the ONNX Model Zoo layout.

Under a folder, each of these is one entry, its family the name of the folder it sits in:
- a model folder: `model.onnx` (or a single .onnx file) with optional external data files and
  `test_data_set_N/input_K.pb, output_K.pb` folders beside it;
- a bare .onnx file;
- a .tar.gz (or .tgz) holding a model folder, unpacked (safely) into the cache once.
Each entry becomes a ModelSpec with a FileSource. Its inputs come from its test data sets (every one
of them; each value file read as the proto its graph declares: tensor, sequence, map or optional), or
are generated from the graph's input types and shapes (suite.onnx_files.generated); its references are the stored
outputs, or ONNX Runtime's CPU provider on the file (the pipeline decides, see CaseRunner.prepare).
An entry that cannot run (a corrupt file, a dim with no size, a rejected archive) is still an entry:
its FileSource carries the problem and each of its cases is a model_error row saying so.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from suite.core.record import Status
from suite.onnx_files.generated import ORT_PYTHON_UNSUPPORTED, graph_inputs
from suite.onnx_files.safe_read import (
    Limits,
    SourceRejected,
    extract_archive,
    is_inside,
    read_bytes,
    read_model_header,
)
from suite.onnx_files.tolerances import DEFAULT as DEFAULT_TOLERANCE
from suite.onnx_files.tolerances import FileTolerance, tolerance_for
from suite.onnx_files.values import Value, read_value
from zoo.spec import Feeds, FileSource, InputSpec, ModelSpec, Task, Tolerance

EXPORTER = "onnx"  # the exporter column of file entries: nothing exported them here
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")
_DATA_SET = re.compile(r"test_data_set_(\d+)$")
_IO_FILE = re.compile(r"(input|output)_(\d+)\.pb$")


class OnnxDirError(ValueError):
    """A --zoo-onnx-dir that cannot be used at all (missing, not a folder, nothing in it)."""


@dataclass(frozen=True)
class Found:
    """One entry as found on disk, before its file is read."""

    name: str
    family: str
    model: Path | None  # None: an archive that could not be unpacked
    folder: Path
    data_sets: tuple[Path, ...] = ()  # a model folder's test_data_set_N (a bare file has none)
    problem: str = ""


def parse_dims(value: str | None) -> dict[str, int]:
    """ "batch=2,seq=16" -> {"batch": 2, "seq": 16}: sizes for the named dims of generated inputs."""
    sizes: dict[str, int] = {}
    for part in (value or "").split(","):
        if not part.strip():
            continue
        name, _, size = part.partition("=")
        if not name.strip() or not size.strip().isdigit() or int(size) < 1:
            raise OnnxDirError(f"--zoo-onnx-dims takes NAME=SIZE pairs with sizes of 1 or more, got {part.strip()!r}")
        sizes[name.strip()] = int(size)
    return sizes


def specs_from_dirs(
    folders: Sequence[str],
    dims: Mapping[str, int],
    limits: Limits,
    unpack_to: Path,
    taken: Iterable[str] = (),
    tolerance: Tolerance | None = None,
) -> list[ModelSpec]:
    """A ModelSpec for every entry under the folders, names made unique across them and `taken` (the
    names the zoo already has: a file named like a built-in model becomes family_name). `tolerance`:
    the option's, for entries no sidecar speaks for (suite.onnx_files.tolerances).

    Raises:
        OnnxDirError: a folder that is not one, or holds no entry.
        ToleranceError: a tolerance sidecar that cannot be read as one.
    """
    specs: list[ModelSpec] = []
    taken = set(taken)
    for folder in folders:
        root = Path(folder).resolve()
        if not root.is_dir():
            raise OnnxDirError(f"--zoo-onnx-dir {folder}: no such folder; give a folder of ONNX models")
        found = list(find_entries(root, unpack_to, limits))
        if not found:
            raise OnnxDirError(
                f"--zoo-onnx-dir {folder}: no .onnx file, model folder or .tar.gz in it; "
                "give a folder in the ONNX Model Zoo layout"
            )
        for entry in found:
            name = _unique(entry.name, entry.family, taken)
            judged = tolerance_for(entry.model or entry.folder, entry.folder, root, tolerance)
            specs.append(spec_of(replace(entry, name=name), dims, limits, source=str(root), tolerance=judged))
    return specs


def _unique(name: str, family: str, taken: set[str]) -> str:
    """The entry's name, or family_name, or family_name_2 ... where two folders hold the same name."""
    candidate = name
    if candidate in taken:
        candidate = f"{family}_{name}"
    base, count = candidate, 2
    while candidate in taken:
        candidate, count = f"{base}_{count}", count + 1
    taken.add(candidate)
    return candidate


def entry_name(text: str) -> str:
    """A case-id-safe name: lowercase letters, digits and underscores."""
    return re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_") or "model"


def find_entries(root: Path, unpack_to: Path, limits: Limits) -> Iterator[Found]:
    """Every entry under `root`, in sorted order; folders are not followed through symlinks."""
    for path in sorted(root.iterdir()):
        if path.is_symlink():
            yield from _symlinked(path, root)
        elif path.is_dir():
            model = _folder_model(path)
            if model is not None:
                yield Found(entry_name(path.name), entry_name(root.name), model, path, data_sets_of(path))
            else:
                yield from find_entries(path, unpack_to, limits)
        elif path.suffix == ".onnx":
            yield Found(entry_name(path.stem), entry_name(root.name), path, root)
        elif path.name.endswith(ARCHIVE_SUFFIXES):
            yield _unpacked(path, root, unpack_to, limits)


def _symlinked(path: Path, root: Path) -> Iterator[Found]:
    """A symlinked .onnx file is taken only where it leads to a file inside the folder."""
    if path.suffix != ".onnx":
        return
    target = path.resolve()
    name = entry_name(path.stem)
    if root in target.parents and target.is_file():
        yield Found(name, entry_name(root.name), path, root)
    else:
        problem = f"{path.name} is a symlink that leads out of {root}"
        yield Found(name, entry_name(root.name), None, root, problem=problem)


def _folder_model(folder: Path) -> Path | None:
    """The model of a model folder: model.onnx, or its only .onnx file; None for a folder of folders."""
    if (folder / "model.onnx").is_file():
        return folder / "model.onnx"
    files = [p for p in folder.glob("*.onnx") if p.is_file() and not p.is_symlink()]
    has_data = any(_DATA_SET.match(p.name) for p in folder.iterdir() if p.is_dir())
    return files[0] if len(files) == 1 and has_data else None


def _unpacked(archive: Path, root: Path, unpack_to: Path, limits: Limits) -> Found:
    stem = archive.name.removesuffix(".tar.gz").removesuffix(".tgz")
    name, family = entry_name(stem), entry_name(root.name)
    try:
        # Unpacked once per content: the folder is named by the archive's sha256.
        digest = hashlib.sha256(read_bytes(archive, root, limits, "archive")).hexdigest()[:16]
        dest = unpack_to / f"{name}-{digest}"
        extract_archive(archive, dest, limits)
    except SourceRejected as exc:
        return Found(name, family, None, root, problem=str(exc))
    folders = [dest, *sorted(p for p in dest.rglob("*") if p.is_dir())]
    for folder in folders:
        model = _folder_model(folder)
        if model is not None:
            return Found(name, family, model, folder, data_sets_of(folder))
    bare = sorted(dest.rglob("*.onnx"))
    if bare:
        return Found(name, family, bare[0], bare[0].parent)
    return Found(name, family, None, dest, problem=f"archive {archive.name} holds no .onnx file")


def data_sets_of(folder: Path) -> tuple[Path, ...]:
    sets = [(int(m.group(1)), p) for p in folder.iterdir() if p.is_dir() and (m := _DATA_SET.match(p.name))]
    return tuple(p for _, p in sorted(sets))


def spec_of(
    found: Found, dims: Mapping[str, int], limits: Limits, source: str, tolerance: FileTolerance | None = None
) -> ModelSpec:
    """The entry's spec: the graph's inputs read from the file (external data left unread), judged
    with `tolerance` (the default where None)."""
    data_sets = found.data_sets
    judged = tolerance or FileTolerance(Tolerance(), DEFAULT_TOLERANCE)
    file = FileSource(
        found.model or found.folder, found.folder, data_sets, problem=found.problem, tolerance_source=judged.source
    )
    inputs: tuple[InputSpec, ...] = ()
    feeds: Feeds | None = None
    if found.model is not None and not found.problem:
        try:
            model = read_model_header(found.model, found.folder, limits)
            file = replace(file, opset=_default_opset(model), ir_version=int(model.ir_version))
            fed = graph_inputs(model, dims, limits, generated=not data_sets)
            inputs, feeds = fed.specs, fed.feeds
            file = replace(file, problem=fed.problem, digest=_digest(found.model, found.folder, data_sets))
        except SourceRejected as exc:
            file = replace(file, problem=str(exc))
        except OSError as exc:
            file = replace(file, problem=f"{found.model.name} cannot be read: {exc.strerror or exc}")
    return ModelSpec(
        name=found.name,
        builder=_no_builder,
        inputs=inputs,
        task=Task.REGRESSION,  # what a file's first output means is unknown: compared as values
        tolerance=judged.tolerance,
        family=found.family,
        framework=EXPORTER,
        source=source,
        file_source=file,
        feeds=_stored_feeds(file, tuple(i.name for i in inputs), limits) if data_sets else feeds,
    )


def problem_status(problem: str) -> Status:
    """The status of the rows of an entry that cannot run because of `problem` (FileSource.problem):
    `unsupported` where ONNX Runtime's Python API cannot take an input's type, else model_error."""
    return Status.UNSUPPORTED if ORT_PYTHON_UNSUPPORTED in problem else Status.MODEL_ERROR


def _no_builder() -> None:
    raise TypeError("an ONNX file from --zoo-onnx-dir has no builder; the pipeline imports the file instead")


def _default_opset(model: Any) -> int:
    return next((int(op.version) for op in model.opset_import if op.domain in ("", "ai.onnx")), 0)


def _digest(model: Path, folder: Path, data_sets: Iterable[Path]) -> str:
    """sha256 of the entry's files (model, what may be its external data, test data), names included.

    Other models and archives beside a bare file are not part of it.
    """
    digest = hashlib.sha256()
    beside = [p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix != ".onnx"]
    beside = [p for p in beside if not p.name.endswith(ARCHIVE_SUFFIXES)]
    files = [model, *beside, *(p for data in data_sets for p in sorted(data.iterdir()) if p.is_file())]
    for path in files:
        if not is_inside(folder, path):  # a symlink out of the folder is never read (its reader says so)
            continue
        digest.update(str(path.relative_to(folder)).encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _stored_feeds(file: FileSource, names: tuple[str, ...], limits: Limits) -> Feeds:
    """make_inputs for an entry with test data: draw N is test_data_set_(N mod count)."""

    def feeds(_sizes: Mapping[str, int], draw: int) -> dict[str, Value]:
        return dict(stored_data(file, names, draw % len(file.data_sets), limits).inputs)

    return feeds


@dataclass(frozen=True)
class StoredData:
    """One test data set: its inputs by graph input name, its outputs in order, each a Value (an array,
    or the list, dict or None of a sequence, map or optional). Shared by every caller: not to be changed."""

    inputs: tuple[tuple[str, Value], ...]
    outputs: tuple[Value, ...]


@functools.lru_cache(maxsize=64)
def stored_data(file: FileSource, names: tuple[str, ...], index: int, limits: Limits) -> StoredData:
    """Test data set `index`, read and size-checked once per process.

    input_K.pb is read as the type of the K-th fed input (`names`), output_K.pb as that of the K-th
    graph output (a tensor past the last: the count is checked by the caller). Inputs are matched to
    `names` by their protos' names, or by position where the files carry none. A graph without fed
    inputs has data sets of outputs only. Raises SourceRejected (one line) for a malformed or
    mismatched set.
    """
    folder = file.data_sets[index]
    files = {(m.group(1), int(m.group(2))): p for p in folder.iterdir() if (m := _IO_FILE.match(p.name))}
    input_files = [files[k] for k in sorted(k for k in files if k[0] == "input")]
    output_files = [files[k] for k in sorted(k for k in files if k[0] == "output")]
    if not output_files:
        raise SourceRejected(f"{folder.name} holds no output_K.pb file; a test data set holds the outputs to compare")
    if len(input_files) != len(names):
        raise SourceRejected(
            f"{folder.name} holds {len(input_files)} inputs but the graph takes {len(names)} ({', '.join(names)})"
        )
    input_types, output_types = _declared_types(file, limits)
    inputs = [read_value(path, file.folder, limits, input_types.get(names[k])) for k, path in enumerate(input_files)]
    outputs = [
        read_value(path, file.folder, limits, output_types[k] if k < len(output_types) else None)[1]
        for k, path in enumerate(output_files)
    ]
    named = [(name if name in names else names[k], value) for k, (name, value) in enumerate(inputs)]
    return StoredData(tuple(named), tuple(outputs))


@functools.lru_cache(maxsize=16)
def _declared_types(file: FileSource, limits: Limits) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """The TypeProtos of the graph's inputs (by name) and outputs (in order): what its stored values are."""
    graph = read_model_header(file.model, file.folder, limits).graph
    return {value.name: value.type for value in graph.input}, tuple(value.type for value in graph.output)


__all__ = [
    "EXPORTER",
    "Found",
    "OnnxDirError",
    "StoredData",
    "parse_dims",
    "problem_status",
    "specs_from_dirs",
    "stored_data",
]
