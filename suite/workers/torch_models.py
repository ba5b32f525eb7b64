"""Torch models in the torch worker: build, digest weights, eager reference outputs, eager latency, export.

These functions run inside a torch worker process (see suite.workers.isolate), never in
the pytest process, so a segfault or hang in torch costs one case, not the run.
They take and return plain, picklable data (names, numpy arrays, dataclasses).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from suite.core.budget import cap_memory
from suite.exporters import ExportRequest, get_exporter
from suite.exporters.base import ExportResult, call_arguments
from suite.judge.inputs import make_inputs
from suite.runtime.timing import TimingPlan, sample, summarize
from suite.workers import models
from suite.workers.settings import WorkerSettings
from zoo import checkpoints
from zoo.spec import EntryExcluded

# What the torch worker's fork server imports once (suite.workers.isolate.Worker's preload): a torch.export
# export gets a new process every time (suite.run.exports.FRESH_PROCESS_EXPORTERS), and importing these
# again for each one cost about a second. Nothing here may import TensorFlow.
PRELOAD = (
    "torch",
    "torchvision",
    "transformers",
    "onnx",
    "onnxscript",
    "suite.workers.torch_models",
    "suite.workers.torch_modules",
    "zoo.models",
)
_MODEL_CACHE: OrderedDict[str, Any] = OrderedDict()
_MODEL_CACHE_SIZE = 3  # cases arrive grouped by model; a few keep memory flat
QUANTIZED_TRIES = 3  # input roundings a quantized model's floor is the worst of
QUANTIZED_SEED = 20261206


class ModelError(Exception):
    """The eager model itself failed (build or forward): not an exporter problem."""


def _build(name: str) -> Any:
    """The model for eager work (digest, references, timing), reused while its cases run."""
    if name in _MODEL_CACHE:
        _MODEL_CACHE.move_to_end(name)
        return _MODEL_CACHE[name]
    model = construct(name)
    _MODEL_CACHE[name] = model
    while len(_MODEL_CACHE) > _MODEL_CACHE_SIZE:
        _MODEL_CACHE.popitem(last=False)
    return model


def construct(name: str) -> Any:
    """A new instance from the seeded builder, in eval mode."""
    import torch

    spec = models.get(name)
    torch.manual_seed(spec.seed)
    try:
        model = spec.builder()
    except EntryExcluded:  # left out on purpose (the corpus size cap): a skip that says why, not a failure
        raise
    except Exception as exc:
        raise ModelError(f"building {name} failed: {type(exc).__name__}: {exc}") from exc
    model.eval()
    _materialise_lazy(name, model)
    return model


def _materialise_lazy(name: str, model: Any) -> None:
    """Lazy modules (LazyLinear, LazyConv2d ...) learn their shapes from a first forward: run one on
    the model's own inputs at its default sizes, before anything reads the parameters (the weights
    digest, a state_dict, an export). Seeded like the rest of the build, so every process gets the
    same weights."""
    import torch
    from torch.nn.parameter import is_lazy

    if not any(is_lazy(t) for t in (*model.parameters(), *model.buffers())):
        return
    spec = models.get(name)
    args, kwargs = call_arguments(spec, tensors_of(make_inputs(spec)))
    try:
        with torch.no_grad():  # not inference_mode: the parameters it creates must stay ordinary tensors
            model(*args, **(kwargs or {}))
    except Exception as exc:
        raise ModelError(
            f"{name}'s lazy modules could not be initialised by a forward on its inputs: {type(exc).__name__}: {exc}"
        ) from exc


def weights_source(name: str) -> str:
    """Where the model's weights come from: seeded random, or a local checkpoint (zoo.checkpoints)."""
    return checkpoints.weights_source(name)


def weights_digest(name: str) -> str:
    """sha256 over the model's parameters and buffers, in state_dict order."""
    model = _build(name)
    digest = hashlib.sha256()
    for key, value in model.state_dict().items():
        digest.update(key.encode())
        _digest_value(digest, value)
    return digest.hexdigest()[:16]


def _digest_value(digest: Any, value: Any) -> None:
    """Feed a state_dict value to `digest`: a tensor's bytes; a quantized tensor's integers and
    quantization parameters (numpy has no qint8); the parts of a quantized layer's packed
    parameters (a tuple); anything else by its repr."""
    import torch

    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
        if tensor.is_quantized:
            per_channel = tensor.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric)
            scales = (tensor.q_per_channel_scales(), tensor.q_per_channel_zero_points()) if per_channel else ()
            digest.update(repr((tensor.dtype, tensor.qscheme(), () if per_channel else tensor.q_scale())).encode())
            for part in (tensor.int_repr(), *scales):
                digest.update(part.contiguous().numpy().tobytes())
        else:
            digest.update(tensor.contiguous().numpy().tobytes())
    elif isinstance(value, tuple | list):
        for item in value:
            _digest_value(digest, item)
    else:
        digest.update(repr(value).encode())


def _forward(name: str, inputs: dict[str, np.ndarray]) -> Callable[[], Any]:
    """The eager model's forward on `inputs`, ready to call (under torch.inference_mode)."""
    spec = models.get(name)
    model = _build(name)
    args, kwargs = call_arguments(spec, tensors_of(inputs))
    return lambda: model(*args, **(kwargs or {}))


def tensors_of(inputs: dict[str, np.ndarray]) -> dict[str, Any]:
    import torch

    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in inputs.items()}


def eager_outputs(name: str, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The eager model's flattened outputs on `inputs`.

    Raises:
        ModelError: the model's forward raised.
    """
    import torch

    forward = _forward(name, inputs)
    try:
        with torch.inference_mode():
            result = forward()
    except Exception as exc:
        raise ModelError(f"{name} forward raised {type(exc).__name__}: {exc}") from exc
    return [t.detach().cpu().numpy() for t in flatten(result)]


def quantized_floor(name: str, inputs: dict[str, np.ndarray]) -> list[float] | None:
    """A quantized model's own floor per flattened output: the largest change of the output when every
    float input moves by up to half a step of the model's input quantizer (QUANTIZED_TRIES seeded
    draws of uniform noise), i.e. when its first rounding goes the other way on some elements.
    None for a model with no Quantize module.

    Two INT8 backends (torch's fbgemm/qnnpack kernels, ONNX Runtime's QLinear ops) round a tie
    differently at some layer, and the model carries that step to its output as it carries a
    rounding of its input: measured on the corpus's quantized entries, ONNX Runtime stayed within
    1.2x this floor (suite.judge.floor.QUANTIZED_FACTOR).
    """
    import torch

    model = _build(name)
    quantizers = [m for m in model.modules() if isinstance(m, torch.ao.nn.quantized.Quantize)]
    if not quantizers:
        return None
    half_step = 0.5 * min(float(q.scale) for q in quantizers)
    base = eager_outputs(name, inputs)
    generator = np.random.default_rng(QUANTIZED_SEED)
    floors = [0.0] * len(base)
    for _ in range(QUANTIZED_TRIES):
        moved = {
            k: (v + generator.uniform(-half_step, half_step, v.shape)).astype(v.dtype) if v.dtype.kind == "f" else v
            for k, v in inputs.items()
        }
        for index, (a, b) in enumerate(zip(base, eager_outputs(name, moved), strict=True)):
            if a.dtype.kind == "f" and a.size and a.shape == b.shape:
                floors[index] = max(floors[index], float(np.abs(a.astype(np.float64) - b).max()))
    return floors


def eager_outputs_float64(name: str, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The model's outputs computed in float64 on the same inputs: the exact side of its float32 floor.

    A float64 copy of the eager model (never the cached instance, which stays float32); float
    inputs are widened, integer inputs are kept.

    Raises:
        ModelError: the model has no float64 forward (an op without a double kernel ...); the
            case then falls back to its static tolerance.
    """
    import copy

    import torch

    from suite.judge.floor import widened

    spec = models.get(name)
    model = copy.deepcopy(_build(name)).double()
    args, kwargs = call_arguments(spec, tensors_of({k: widened(v) for k, v in inputs.items()}))
    try:
        with torch.inference_mode():
            result = model(*args, **(kwargs or {}))
    except Exception as exc:
        raise ModelError(f"{name} has no float64 forward: {type(exc).__name__}: {exc}") from exc
    return [t.detach().cpu().numpy() for t in flatten(result)]


def flatten(result: Any) -> list[Any]:
    import torch
    import torch.utils._pytree as pytree

    leaves, _ = pytree.tree_flatten(result)
    return [leaf for leaf in leaves if isinstance(leaf, torch.Tensor)]


def export(request: ExportRequest, inputs: dict[str, np.ndarray], output_count: int) -> ExportResult:
    """Export the model on `inputs` as asked; the file lands at request.path."""

    import torch

    spec = models.get(request.model)
    # Every export starts from a new module and clean compiler state: an exporter may leave
    # state on the module it traced (torch.export did, on nn.GRU/nn.LSTM: a second export of the
    # same instance kept the time axis dynamic where the first fixed it), so a reused instance
    # would make a case's verdict depend on which cases ran before it in this worker.
    torch.compiler.reset()
    model = construct(request.model)
    return get_exporter(request.exporter).export(spec, model, tensors_of(inputs), output_count, request)


def eager_latency(
    name: str, inputs: dict[str, np.ndarray], threads: int, plan: TimingPlan, device: str = "cpu"
) -> dict[str, Any]:
    """Eager forward latency on `inputs`: the latency stage's baseline.

    On the CPU with `threads` intra-op threads; on "cuda" (the baseline of CUDA and TensorRT
    rows) with a copy of the model on the GPU, each call synchronized so the time is the
    kernels', not the launch's. Where torch sees no GPU it runs on the CPU and says so.
    """
    import torch

    where = "cpu"
    if device.startswith("cuda"):
        if torch.cuda.is_available():
            where = "cuda"
        else:
            device = "cpu (torch sees no GPU)"
    if where == "cuda":
        forward = _forward_on_gpu(name, inputs)
        device = f"cuda:0 ({torch.cuda.get_device_name(0)})"
    else:
        forward = _forward(name, inputs)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            samples = sample(forward, plan)
    finally:
        torch.set_num_threads(previous)
    return {
        **summarize(samples).columns(),
        "threads": threads,
        "interop_threads": torch.get_num_interop_threads(),
        "device": device,
    }


def _forward_on_gpu(name: str, inputs: dict[str, np.ndarray]) -> Callable[[], Any]:
    """forward on a GPU copy of the model (the cached CPU model serves references), synchronized."""
    import torch

    spec = models.get(name)
    model = construct(name).to("cuda")
    tensors = {k: v.to("cuda") for k, v in tensors_of(inputs).items()}
    args, kwargs = call_arguments(spec, tensors)

    def forward() -> Any:
        result = model(*args, **(kwargs or {}))
        torch.cuda.synchronize()
        return result

    return forward


def init_worker(settings: WorkerSettings) -> None:
    """Worker initializer: the memory budget, thread pools, the weights folder, and the zoo, so models
    can be looked up by name."""
    cap_memory(settings.memory_bytes)
    if settings.inter_op_threads:  # only possible before torch runs anything in parallel
        import torch

        torch.set_num_interop_threads(settings.inter_op_threads)
    models.load(settings)


def eager_twice(name: str, inputs: dict[str, np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """The eager model's outputs on the same inputs, twice in a row, and the random ops (torch's
    nondeterministic_seeded tag: rand, multinomial, dropout in training ...) the second run called:
    a model that disagrees with itself cannot be judged by any export."""
    first = eager_outputs(name, inputs)
    with _seeded_ops_recorder() as seen:
        second = eager_outputs(name, inputs)
    return first, second, seen.ops


def _seeded_ops_recorder() -> Any:
    """A dispatch mode that records the aten ops tagged nondeterministic_seeded run under it (dropout
    with train=False left out); built here so that importing this module does not import torch."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    class SeededOps(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.ops: list[str] = []

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            if torch.Tag.nondeterministic_seeded in func.tags:
                idle_dropout = "dropout" in func.__name__ and len(args) > 2 and args[2] is False
                if not idle_dropout:
                    self.ops.append(str(func.overloadpacket))
            return func(*args, **(kwargs or {}))

    return SeededOps()
