"""Write a small, seeded ONNX zoo in the ONNX Model Zoo layout, for testing ``--zoo-onnx-dir DIR``.

Usage: python scripts/make_onnx_zoo.py OUT_DIR [--only name1,name2]

Layout, as in the ONNX Model Zoo::

    OUT_DIR/<family>/<name>/model.onnx
    OUT_DIR/<family>/<name>/test_data_set_<N>/input_<K>.pb, output_<K>.pb
    OUT_DIR/<family>/<name>.tar.gz        (<name>/model.onnx and <name>/test_data_set_0/... inside)
    OUT_DIR/<family>/<name>.onnx          (a bare model, no test data)

The samples cover what the suite's zoo reader must cope with: TorchScript exports at opsets 9 to 17, an opset 21
(IR 10) conversion, hand-built IR 3 models whose initializers are also graph inputs, external data, a tarball, a bare
model with a symbolic batch dim, two-input and int64-input models, several data sets per model, and one model
(``ALTERED``) whose second data set holds deliberately wrong outputs. Every correct data set is checked against
onnxruntime CPU before it is written, so a bad sample never ships. Output bytes are the same on every run.

Also importable by file path: ``make_onnx_zoo(out_dir, only)``, ``MODELS``, ``ALTERED``.
"""

# No `from __future__ import annotations`: with string annotations @dataclass looks this module up in
# sys.modules, which a by-path import (spec_from_file_location + exec_module) need not have filled.
import argparse
import contextlib
import gzip
import io
import shutil
import sys
import tarfile
import time
import warnings
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

MODELS: tuple[str, ...] = (
    "mlp_op9",
    "gemm_ir3",
    "mlp_altered",
    "convnet_op11",
    "conv_ir3",
    "convnet_ext",
    "convnet_op21",
    "convnet_dynamic",
    "gru_op13",
    "lstm_op15",
    "attention_op15",
    "encoder_op17",
)
# Its test_data_set_1/output_0.pb is wrong on purpose: a comparison against it must fail.
ALTERED: str = "mlp_altered"

ATOL, RTOL = 1e-4, 1e-3
DataSet = tuple[list[np.ndarray], list[np.ndarray]]  # (inputs, outputs) in graph order


@dataclass
class Sample:
    """One model to write, with its correct data sets and how it is packaged."""

    name: str
    family: str
    model: onnx.ModelProto
    data_sets: list[DataSet] = field(default_factory=list)
    form: str = "folder"  # folder | external | tar | bare
    special: str = ""
    full_check: bool = True


# --------------------------------------------------------------------------------------------------- torch modules


class Mlp(torch.nn.Module):
    def __init__(self, d_in: int, d_hidden: int, d_out: int) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(d_in, d_hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(d_hidden, d_hidden),
            torch.nn.Tanh(),
            torch.nn.Linear(d_hidden, d_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ConvNet(torch.nn.Module):
    """conv/bn/relu/pool twice, then a linear head, on 3x16x16 images."""

    def __init__(self, width: int = 8, classes: int = 10) -> None:
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, width, 3, padding=1),
            torch.nn.BatchNorm2d(width),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(width, 2 * width, 3, padding=1),
            torch.nn.BatchNorm2d(2 * width),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
        )
        self.head = torch.nn.Linear(2 * width * 4 * 4, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.features(x), 1))


class GruTagger(torch.nn.Module):
    """Two inputs (sequence, initial hidden state) and two outputs (per-step scores, final hidden state)."""

    def __init__(self, d_in: int = 8, d_hidden: int = 12, d_out: int = 5) -> None:
        super().__init__()
        self.gru = torch.nn.GRU(d_in, d_hidden, batch_first=True)
        self.head = torch.nn.Linear(d_hidden, d_out)

    def forward(self, x: torch.Tensor, h0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out, h_n = self.gru(x, h0)
        return self.head(out), h_n


class LstmClassifier(torch.nn.Module):
    """Sequence-first LSTM, classified from the last hidden state."""

    def __init__(self, d_in: int = 8, d_hidden: int = 16, classes: int = 3) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(d_in, d_hidden)
        self.head = torch.nn.Linear(d_hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h_n, _) = self.lstm(x)
        return self.head(h_n[-1])


class CrossAttention(torch.nn.Module):
    """Queries attend over a second tensor: a two-input attention block."""

    def __init__(self, dim: int = 16, heads: int = 2) -> None:
        super().__init__()
        self.attn = torch.nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm = torch.nn.LayerNorm(dim)

    def forward(self, query: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        attended, _ = self.attn(query, memory, memory, need_weights=False)
        return self.norm(query + attended)


class TinyEncoder(torch.nn.Module):
    """Token ids -> embedding -> one pre-norm transformer block -> mean pool -> logits.

    Hand-written rather than nn.TransformerEncoderLayer: the TorchScript exporter in torch 2.14 fails on that layer
    (its SDPA call gets ``is_causal`` as a traced Tensor).
    """

    def __init__(self, vocab: int = 50, dim: int = 16, heads: int = 2, classes: int = 4) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, dim)
        self.norm1 = torch.nn.LayerNorm(dim)
        self.attn = torch.nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm2 = torch.nn.LayerNorm(dim)
        self.ffn = torch.nn.Sequential(torch.nn.Linear(dim, 2 * dim), torch.nn.GELU(), torch.nn.Linear(2 * dim, dim))
        self.head = torch.nn.Linear(dim, classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = self.embed(ids)
        n = self.norm1(h)
        h = h + self.attn(n, n, n, need_weights=False)[0]
        h = h + self.ffn(self.norm2(h))
        return self.head(h.mean(dim=1))


# --------------------------------------------------------------------------------------------------- helpers


def _seed(name: str) -> int:
    # Per-model seed from the name, so --only writes the same bytes as a full run.
    return zlib.crc32(name.encode())


@contextlib.contextmanager
def _one_torch_thread() -> Iterator[None]:
    # One thread makes eager results independent of the core count; restore it for importers.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _normal(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def _torch_module(cls: Callable[..., torch.nn.Module], name: str, **kwargs: int) -> torch.nn.Module:
    torch.manual_seed(_seed(name))
    module = cls(**kwargs).eval()
    # Fresh BatchNorm statistics are 0/1; give them values so the exported BN does real work.
    for bn in (m for m in module.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 1.5)
    return module


def _torch_outputs(module: torch.nn.Module, inputs: list[np.ndarray]) -> list[np.ndarray]:
    with torch.no_grad():
        out = module(*(torch.from_numpy(a) for a in inputs))
    outs = out if isinstance(out, tuple) else (out,)
    return [o.numpy().astype(np.float32) for o in outs]


def _export(
    module: torch.nn.Module,
    inputs: list[np.ndarray],
    opset: int,
    input_names: list[str],
    output_names: list[str],
    dynamic_axes: dict[str, dict[int, str]] | None = None,
) -> onnx.ModelProto:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The legacy exporter is the point here; its deprecation notice is noise.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # Static shapes and fixed batch here, so the RNN batch-size caveat does not apply.
        warnings.filterwarnings("ignore", message="Exporting a model to ONNX with a batch_size other than 1")
        torch.onnx.export(
            module,
            tuple(torch.from_numpy(a) for a in inputs),
            buffer,
            dynamo=False,
            opset_version=opset,
            input_names=input_names,
            output_names=output_names,
            dynamic_axes=dynamic_axes,
        )
    return onnx.load_from_string(buffer.getvalue())


def _torch_sample(
    name: str,
    family: str,
    module: torch.nn.Module,
    draw: Callable[[np.random.Generator], list[np.ndarray]],
    *,
    opset: int,
    inputs: list[str],
    outputs: list[str],
    sets: int = 1,
    form: str = "folder",
    special: str = "",
    dynamic_axes: dict[str, dict[int, str]] | None = None,
) -> Sample:
    """Export ``module`` and store its eager outputs on ``sets`` seeded input draws."""
    rng = np.random.default_rng(_seed(name))
    draws = [draw(rng) for _ in range(sets)]
    data_sets = [(ins, _torch_outputs(module, ins)) for ins in draws]
    model = _export(module, draws[0], opset, inputs, outputs, dynamic_axes)
    return Sample(name, family, model, data_sets, form=form, special=special)


def _ort_session(model: onnx.ModelProto):  # -> onnxruntime.InferenceSession
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def _fed_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    # Graph inputs that are also initializers (IR 3 style) carry their own values: nobody feeds them.
    initializers = {t.name for t in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in initializers]


# --------------------------------------------------------------------------------------------------- IR 3 models


def _ir3_model(
    name: str,
    nodes: list[onnx.NodeProto],
    x: tuple[str, list[int]],
    y: tuple[str, list[int]],
    weights: dict,
    opset: int,
) -> onnx.ModelProto:
    """An old-style model: IR 3, every initializer also listed as a graph input."""
    initializers = [numpy_helper.from_array(w, n) for n, w in weights.items()]
    inputs = [helper.make_tensor_value_info(x[0], TensorProto.FLOAT, x[1])]
    inputs += [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(w.shape)) for n, w in weights.items()]
    graph = helper.make_graph(
        nodes, name, inputs, [helper.make_tensor_value_info(y[0], TensorProto.FLOAT, y[1])], initializers
    )
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=3, producer_name="make_onnx_zoo"
    )


def _reference_outputs(model: onnx.ModelProto, inputs: list[np.ndarray]) -> list[np.ndarray]:
    feeds = {i.name: a for i, a in zip(_fed_inputs(model), inputs, strict=True)}
    try:
        from onnx.reference import ReferenceEvaluator

        outs = ReferenceEvaluator(model).run(None, feeds)
    except Exception:  # noqa: BLE001 - any reference failure falls back to onnxruntime, as documented
        outs = _ort_session(model).run(None, feeds)
    return [np.asarray(o, dtype=np.float32) for o in outs]


def _ir3_sample(name: str, family: str, model: onnx.ModelProto, shape: tuple[int, ...], special: str) -> Sample:
    rng = np.random.default_rng(_seed(name) + 1)
    x = _normal(rng, *shape)
    return Sample(name, family, model, [([x], _reference_outputs(model, [x]))], special=special)


def build_gemm_ir3(name: str) -> Sample:
    rng = np.random.default_rng(_seed(name))
    weights = {
        "W1": 0.4 * _normal(rng, 6, 8),
        "b1": _normal(rng, 8),
        "W2": 0.4 * _normal(rng, 8, 4),
        "b2": _normal(rng, 4),
    }
    nodes = [
        helper.make_node("Gemm", ["x", "W1", "b1"], ["h"]),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Gemm", ["r", "W2", "b2"], ["y"]),
    ]
    model = _ir3_model(name, nodes, ("x", [3, 6]), ("y", [3, 4]), weights, opset=7)
    return _ir3_sample(name, "tabular", model, (3, 6), "IR 3, Gemm+Relu, initializers also graph inputs")


def build_conv_ir3(name: str) -> Sample:
    rng = np.random.default_rng(_seed(name))
    weights = {
        "W": 0.3 * _normal(rng, 4, 3, 3, 3),
        "B": _normal(rng, 4),
        "Wf": 0.5 * _normal(rng, 4, 5),
        "bf": _normal(rng, 5),
    }
    nodes = [
        helper.make_node("Conv", ["x", "W", "B"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "Wf", "bf"], ["y"]),
    ]
    model = _ir3_model(name, nodes, ("x", [2, 3, 8, 8]), ("y", [2, 5]), weights, opset=8)
    return _ir3_sample(
        name, "vision", model, (2, 3, 8, 8), "IR 3, Conv+Relu+GAP+Flatten+Gemm, initializers also inputs"
    )


# --------------------------------------------------------------------------------------------------- torch models


def build_mlp_op9(name: str) -> Sample:
    module = _torch_module(Mlp, name, d_in=10, d_hidden=32, d_out=3)
    return _torch_sample(
        name,
        "tabular",
        module,
        lambda r: [_normal(r, 4, 10)],
        opset=9,
        inputs=["input"],
        outputs=["output"],
        sets=3,
        special="3 correct data sets",
    )


def build_mlp_altered(name: str) -> Sample:
    module = _torch_module(Mlp, name, d_in=6, d_hidden=16, d_out=2)
    return _torch_sample(
        name,
        "tabular",
        module,
        lambda r: [_normal(r, 5, 6)],
        opset=12,
        inputs=["features"],
        outputs=["scores"],
        sets=1,
        special="test_data_set_1 output deliberately altered (x1.5 + 0.25): must fail",
    )


def build_convnet_op11(name: str) -> Sample:
    module = _torch_module(ConvNet, name)
    return _torch_sample(
        name,
        "vision",
        module,
        lambda r: [_normal(r, 2, 3, 16, 16)],
        opset=11,
        inputs=["image"],
        outputs=["logits"],
        special="conv/bn/relu/pool/linear",
    )


def build_convnet_ext(name: str) -> Sample:
    module = _torch_module(ConvNet, name, width=16, classes=20)
    return _torch_sample(
        name,
        "vision",
        module,
        lambda r: [_normal(r, 1, 3, 16, 16)],
        opset=13,
        inputs=["image"],
        outputs=["logits"],
        form="external",
        special="external data in weights.bin",
    )


def build_convnet_op21(name: str) -> Sample:
    from onnx import version_converter

    module = _torch_module(ConvNet, name, width=4, classes=6)
    sample = _torch_sample(
        name,
        "vision",
        module,
        lambda r: [_normal(r, 2, 3, 16, 16)],
        opset=17,
        inputs=["image"],
        outputs=["logits"],
        special="exported at opset 17, version-converted to 21 (IR 10)",
    )
    converted = version_converter.convert_version(sample.model, 21)
    converted.ir_version = 10  # the converter keeps the old IR; opset 21 needs IR 10
    sample.model = converted
    return sample


def build_convnet_dynamic(name: str) -> Sample:
    module = _torch_module(ConvNet, name, width=4, classes=7)
    # Its data set (batch 2) only serves the ORT check: a bare model ships without test data.
    return _torch_sample(
        name,
        "vision",
        module,
        lambda r: [_normal(r, 2, 3, 16, 16)],
        opset=13,
        inputs=["image"],
        outputs=["logits"],
        form="bare",
        special="bare .onnx, no test data, image dim 0 = 'batch' (dim_param)",
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
    )


def build_gru_op13(name: str) -> Sample:
    module = _torch_module(GruTagger, name)
    return _torch_sample(
        name,
        "sequence",
        module,
        lambda r: [_normal(r, 2, 6, 8), _normal(r, 1, 2, 12)],
        opset=13,
        inputs=["sequence", "h0"],
        outputs=["scores", "h_n"],
        sets=2,
        special="two inputs, two outputs, 2 correct data sets",
    )


def build_lstm_op15(name: str) -> Sample:
    module = _torch_module(LstmClassifier, name)
    return _torch_sample(
        name,
        "sequence",
        module,
        lambda r: [_normal(r, 7, 3, 8)],
        opset=15,
        inputs=["sequence"],
        outputs=["logits"],
        form="tar",
        special="packed as .tar.gz",
    )


def build_attention_op15(name: str) -> Sample:
    module = _torch_module(CrossAttention, name)
    return _torch_sample(
        name,
        "text",
        module,
        lambda r: [_normal(r, 2, 5, 16), _normal(r, 2, 7, 16)],
        opset=15,
        inputs=["query", "memory"],
        outputs=["attended"],
        special="two inputs (cross-attention)",
    )


def build_encoder_op17(name: str) -> Sample:
    vocab = 50
    module = _torch_module(TinyEncoder, name, vocab=vocab)
    return _torch_sample(
        name,
        "text",
        module,
        lambda r: [r.integers(0, vocab, size=(2, 8), dtype=np.int64)],
        opset=17,
        inputs=["token_ids"],
        outputs=["logits"],
        sets=2,
        special=f"int64 token ids in [0, {vocab}), 2 correct data sets",
    )


BUILDERS: dict[str, Callable[[str], Sample]] = {
    "mlp_op9": build_mlp_op9,
    "gemm_ir3": build_gemm_ir3,
    "mlp_altered": build_mlp_altered,
    "convnet_op11": build_convnet_op11,
    "conv_ir3": build_conv_ir3,
    "convnet_ext": build_convnet_ext,
    "convnet_op21": build_convnet_op21,
    "convnet_dynamic": build_convnet_dynamic,
    "gru_op13": build_gru_op13,
    "lstm_op15": build_lstm_op15,
    "attention_op15": build_attention_op15,
    "encoder_op17": build_encoder_op17,
}
# MODELS is the public list (readers and tests import it); keep it and the builders in step.
if tuple(BUILDERS) != MODELS or ALTERED not in MODELS:
    raise RuntimeError("MODELS, ALTERED and BUILDERS disagree")


# --------------------------------------------------------------------------------------------------- checks


def _verify(sample: Sample) -> None:
    """Assert the model is valid and ORT CPU reproduces every stored data set, with finite outputs."""
    onnx.checker.check_model(sample.model, full_check=sample.full_check)
    session = _ort_session(sample.model)
    names = [i.name for i in _fed_inputs(sample.model)]
    assert names == [i.name for i in session.get_inputs()], f"{sample.name}: fed inputs {names} differ from ORT's"
    for n, (inputs, expected) in enumerate(sample.data_sets):
        got = session.run(None, dict(zip(names, inputs, strict=True)))
        assert len(got) == len(expected) == len(sample.model.graph.output), f"{sample.name}: output count"
        for k, (g, e) in enumerate(zip(got, expected, strict=True)):
            assert np.isfinite(e).all(), f"{sample.name} set {n} output {k}: not finite"
            np.testing.assert_allclose(g, e, atol=ATOL, rtol=RTOL, err_msg=f"{sample.name} set {n} output {k}")


def _add_altered_set(sample: Sample) -> None:
    """Append a copy of data set 0 whose output_0 is scaled and shifted, far outside any tolerance."""
    inputs, outputs = sample.data_sets[0]
    wrong = [(outputs[0] * 1.5 + 0.25).astype(np.float32), *outputs[1:]]
    assert not np.allclose(wrong[0], outputs[0], atol=ATOL, rtol=RTOL)
    sample.data_sets.append(([a.copy() for a in inputs], wrong))


# --------------------------------------------------------------------------------------------------- writing


def _data_set_files(sample: Sample) -> dict[str, bytes]:
    """Relative path -> bytes for every test_data_set_N/{input,output}_K.pb of the sample."""
    in_names = [i.name for i in _fed_inputs(sample.model)]
    out_names = [o.name for o in sample.model.graph.output]
    files: dict[str, bytes] = {}
    for n, (inputs, outputs) in enumerate(sample.data_sets):
        for kind, names, arrays in (("input", in_names, inputs), ("output", out_names, outputs)):
            for k, (tensor_name, arr) in enumerate(zip(names, arrays, strict=True)):
                files[f"test_data_set_{n}/{kind}_{k}.pb"] = numpy_helper.from_array(
                    arr, tensor_name
                ).SerializeToString()
    return files


def _write_folder(sample: Sample, folder: Path) -> None:
    folder.mkdir(parents=True)
    if sample.form == "external":
        # size_threshold=0 moves every tensor out, so model.onnx holds no weights inline.
        onnx.save_model(
            sample.model,
            folder / "model.onnx",
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location="weights.bin",
            size_threshold=0,
        )
        # onnx creates weights.bin owner-only (0600); make it as readable as every other file written here.
        (folder / "weights.bin").chmod(0o644)
    else:
        (folder / "model.onnx").write_bytes(sample.model.SerializeToString())
    for rel, data in _data_set_files(sample).items():
        (folder / rel).parent.mkdir(exist_ok=True)
        (folder / rel).write_bytes(data)


def _normalized(info: tarfile.TarInfo) -> tarfile.TarInfo:
    # No timestamps or owners in the archive: the same bytes on every run and machine.
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o755 if info.isdir() else 0o644
    return info


def _write_tar(sample: Sample, path: Path) -> None:
    files = {"model.onnx": sample.model.SerializeToString(), **_data_set_files(sample)}
    dirs = sorted({sample.name} | {f"{sample.name}/{rel.rsplit('/', 1)[0]}" for rel in files if "/" in rel})
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in dirs:
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            tar.addfile(_normalized(info))
        for rel, data in sorted(files.items()):
            info = tarfile.TarInfo(f"{sample.name}/{rel}")
            info.size = len(data)
            tar.addfile(_normalized(info), io.BytesIO(data))
    # gzip by hand: tarfile's "w:gz" stamps the current time and file name into the gzip header.
    with path.open("wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as gz:
        gz.write(raw.getvalue())


def _write(sample: Sample, out_dir: Path) -> Path:
    family_dir = out_dir / sample.family
    target = {
        "tar": family_dir / f"{sample.name}.tar.gz",
        "bare": family_dir / f"{sample.name}.onnx",
    }.get(sample.form, family_dir / sample.name)
    # Clear what an earlier run left: onnx appends to an existing weights.bin, and stale data sets would linger.
    if target.is_dir():
        shutil.rmtree(target)
    target.unlink(missing_ok=True)
    family_dir.mkdir(parents=True, exist_ok=True)
    if sample.form == "tar":
        _write_tar(sample, target)
    elif sample.form == "bare":
        target.write_bytes(sample.model.SerializeToString())
    else:
        _write_folder(sample, target)
    return target


def _describe(sample: Sample) -> str:
    opset = next(o.version for o in sample.model.opset_import if o.domain in ("", "ai.onnx"))
    return f"{sample.name:<16} {sample.family:<9} opset {opset:>2}  IR {sample.model.ir_version:>2}  {sample.special}"


def make_onnx_zoo(out_dir: Path, only: Sequence[str] | None = None) -> list[Path]:
    """Build, verify and write the selected models (all by default); return the paths written."""
    names = list(MODELS) if only is None else list(only)
    unknown = sorted(set(names) - set(MODELS))
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; known: {', '.join(MODELS)}")
    written: list[Path] = []
    with _one_torch_thread():
        for name in (m for m in MODELS if m in names):
            sample = BUILDERS[name](name)
            _verify(sample)
            if name == ALTERED:
                _add_altered_set(sample)
            written.append(_write(sample, Path(out_dir)))
            print(_describe(sample), flush=True)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="folder to write the zoo into")
    parser.add_argument("--only", help=f"comma-separated model names, of: {', '.join(MODELS)}")
    args = parser.parse_args(argv)
    only = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else None
    start = time.perf_counter()
    try:
        written = make_onnx_zoo(args.out_dir, only)
    except ValueError as e:
        parser.error(str(e))
    print(f"wrote {len(written)} model(s) to {args.out_dir} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
