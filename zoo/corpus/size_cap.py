"""What keeps a generated model out of a corpus run: the memory its export needs, not its parameter count.

A model's export needs memory for its parameters and for its activations at the entry's input
size, and the second can dwarf the first: tv_mvit_v2_s (34.5M parameters) took 21.9 GB to export
at 16x224x224 while tv_vgg16 (138M) takes about 3 GB at 64x64. So the cap estimates what the export
needs at least from both, measured without allocating the model: parameters counted and one forward
run on the meta device, summing the bytes of every tensor an op creates (the TorchScript exporter's
trace keeps them all alive). An entry that needs at least more than the memory budget of the worker
that builds it (its RLIMIT_DATA, set by the harness from --zoo-worker-memory-gb) is left out without
being allocated, and its row says what it needs. The estimate is a floor, never a guess, so it
leaves out no model that would fit: what it lets through, the budget decides (an allocation past
it is a row "needs more than N GB", the same on every run).

Two more limits: the suite writes each export as one ONNX file, which protobuf caps at 2 GB of
weights; and $ZOO_CORPUS_MAX_MPARAMS, when set, caps parameters outright (for a runner whose disk
cannot hold the big models' exports: four files per model, 550 MB each for a VGG).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from zoo.spec import EntryExcluded

CAP_VARIABLE = "ZOO_CORPUS_MAX_MPARAMS"
GIB = 1 << 30
PROTOBUF_LIMIT_BYTES = 2 * GIB
# What an export holds at least: the model's float32 parameters and the graph's copy of them, and
# every activation of the trace. Measured peaks (TorchScript export, torch 2.14, above the built
# model) are well over it: resnet152, convnext_large and vit_l_16 took 4.4x, 3.0x and 3.1x their
# parameters more; tv_mvit_v2_s 21.9 GB on 3.56 GB of activations (6x), while tv_mvit_v1_b
# (2.37 GB of activations) exported within 10.5 GB (under 4x): no one factor fits every model,
# so the cap uses the floor and leaves the rest to the budget.
PARAMETER_COPIES = 2
ACTIVATION_COPIES = 1


@dataclass(frozen=True)
class MemoryEstimate:
    """What one entry's export is estimated to need."""

    parameters: int  # count
    activation_bytes: int | None  # summed over one forward at the export's batch; None where it could not run
    at: str  # the input shapes the activations were counted at

    @property
    def parameter_bytes(self) -> int:
        return 4 * self.parameters

    def least_bytes(self) -> int:
        """What the export holds at least (its peak is higher: see PARAMETER_COPIES)."""
        return PARAMETER_COPIES * self.parameter_bytes + ACTIVATION_COPIES * (self.activation_bytes or 0)

    def describe(self) -> str:
        activations = (
            f"{self.activation_bytes / GIB:.2f} GB of activations at {self.at}"
            if self.activation_bytes is not None
            else f"activations not counted (its forward does not run on the meta device at {self.at})"
        )
        return (
            f"{PARAMETER_COPIES} x {self.parameter_bytes / GIB:.2f} GB of float32 parameters "
            f"({self.parameters / 1e6:.1f}M), {activations}"
        )


def max_params() -> int | None:
    """The parameter cap, where $ZOO_CORPUS_MAX_MPARAMS sets one (in millions); None: no such cap."""
    value = os.environ.get(CAP_VARIABLE, "")
    if not value:
        return None
    try:
        millions = float(value)
    except ValueError:
        raise ValueError(f"{CAP_VARIABLE}={value!r}: give the cap in millions of parameters, e.g. 50") from None
    return int(millions * 1_000_000)


def parameter_count(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def on_meta(build: Callable[[], Any]) -> Any | None:
    """The model `build()` makes, on the meta device (nothing allocated); None where it cannot build there."""
    import torch

    try:
        with torch.device("meta"):
            return build()
    except Exception:  # noqa: BLE001 - some builders compute sizes from tensors at init, which meta refuses
        return None


def activation_bytes(model: Any, example: Sequence[Any]) -> int | None:
    """The bytes of every tensor the ops of one forward on `example` create (views and in-place
    results, which share their input's memory, left out); None where the forward fails (on the
    meta device: a data-dependent op, such as a detector's score threshold)."""
    import torch

    counter = _created_bytes_counter()
    training = model.training
    model.eval()  # a real model's BatchNorm statistics stay as they are
    try:
        with torch.no_grad(), counter:
            model(*example)
    except Exception:  # noqa: BLE001 - the estimate then counts parameters alone, and says so
        return None
    finally:
        model.train(training)
    return counter.total


def _created_bytes_counter() -> Any:
    """A dispatch mode that sums the bytes of the fresh tensors ops return; built here so that importing
    this module does not import torch."""
    import torch
    import torch.utils._pytree as pytree
    from torch.utils._python_dispatch import TorchDispatchMode

    class CreatedBytes(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.total = 0

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            result = func(*args, **(kwargs or {}))
            returns = func._schema.returns
            for index, leaf in enumerate(pytree.tree_leaves(result)):
                aliased = bool(returns) and returns[min(index, len(returns) - 1)].alias_info is not None
                if isinstance(leaf, torch.Tensor) and not aliased:
                    self.total += leaf.numel() * leaf.element_size()
            return result

    return CreatedBytes()


def worker_budget() -> int | None:
    """The memory budget of this process (its RLIMIT_DATA, which the harness sets in each worker); None: none."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_DATA)
    return None if soft == resource.RLIM_INFINITY else soft


def check_fits(name: str, estimate: MemoryEstimate, budget: int | None = None) -> None:
    """Raise EntryExcluded where the entry's export cannot be one file, needs more than `budget` (by
    default this worker's), or has more parameters than $ZOO_CORPUS_MAX_MPARAMS allows."""
    if estimate.parameter_bytes > PROTOBUF_LIMIT_BYTES:
        raise EntryExcluded(
            f"{name} excluded: its float32 parameters ({estimate.parameter_bytes / GIB:.2f} GB) are over "
            "protobuf's 2 GB limit on one ONNX file, and the suite writes each export as one file"
        )
    budget = worker_budget() if budget is None else budget
    if budget and estimate.least_bytes() > budget:
        raise EntryExcluded(
            f"{name} excluded: its export needs at least {estimate.least_bytes() / GIB:.1f} GB "
            f"({estimate.describe()}), over this worker's memory budget of {budget / GIB:.1f} GB "
            "(raise it with --zoo-worker-memory-gb)"
        )
    cap = max_params()
    if cap is not None and estimate.parameters > cap:
        raise EntryExcluded(
            f"{name} excluded by the corpus size cap: {estimate.parameters / 1e6:.1f}M parameters, over "
            f"{cap / 1e6:g}M (${CAP_VARIABLE}; unset it to run every model that fits the memory budget)"
        )
