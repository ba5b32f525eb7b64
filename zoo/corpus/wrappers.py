"""Wrappers that give a generated model the forward the harness exports: named tensor inputs, a tuple of tensors out."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

# How a wrapper calls the library model on its named inputs.
Call = Callable[[Any, Mapping[str, Any]], Any]


def tensor_leaves(result: Any) -> list[Any]:
    """The tensors in a model's result (tuples, lists, dicts, ModelOutput), in order."""
    import torch
    import torch.utils._pytree as pytree

    leaves, _ = pytree.tree_flatten(result)
    return [leaf for leaf in leaves if isinstance(leaf, torch.Tensor)]


def named_forward(model: Any, input_names: Sequence[str], call: Call, output_limit: int | None = None) -> Any:
    """A module whose forward takes `input_names` (as named parameters) and returns the first
    `output_limit` tensors of `call(model, inputs)` as a tuple.

    forward names its inputs rather than taking *args or **kwargs: torch.export and the
    TorchScript exporter bind example inputs and dynamic shapes to forward's parameter names.
    """
    import torch

    for name in input_names:
        if not name.isidentifier():
            raise ValueError(f"input name {name!r} is not a Python identifier")
    params = ", ".join(input_names)
    as_dict = ", ".join(f"{n!r}: {n}" for n in input_names)
    namespace: dict[str, Any] = {}
    # Only identifiers checked above go into the source.
    exec(f"def forward(self, {params}):\n    return self.outputs({{{as_dict}}})\n", namespace)

    def outputs(self: Any, inputs: Mapping[str, Any]) -> tuple[Any, ...]:
        leaves = tensor_leaves(call(self.model, inputs))
        return tuple(leaves[:output_limit] if output_limit else leaves)

    wrapper_type = type("GeneratedEntry", (torch.nn.Module,), {"forward": namespace["forward"], "outputs": outputs})
    wrapper = wrapper_type()
    wrapper.model = model
    return wrapper
