"""User modules (--zoo-module) whose models do a chosen amount of extra work with the same outputs:
the injected slowdowns of the latency A/B checks. `write_module(path, {name: extra})` writes one."""

from collections.abc import Mapping
from pathlib import Path

HEADER = '''"""Each model: 20 blocks of real work, plus EXTRA blocks whose result is multiplied by zero."""

from zoo import InputSpec, Task, register_model


def _build(extra):
    import torch

    class Slowable(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.real = torch.nn.ModuleList(torch.nn.Linear(512, 512) for _ in range(20))
            self.extra = torch.nn.ModuleList(torch.nn.Linear(512, 512) for _ in range(extra))

        def forward(self, x):
            y = x
            for layer in self.real:
                y = torch.tanh(layer(y))
            z = x
            for layer in self.extra:
                z = torch.tanh(layer(z))
            return y + 0.0 * z.sum() if extra else y

    return Slowable()
'''

MODEL = """

@register_model(name="{name}", inputs=[InputSpec("x", (1, 512))], task=Task.REGRESSION, tags={{"ab"}})
def _{name}():
    return _build({extra})
"""


def write_module(path: Path, extra_by_model: Mapping[str, int]) -> Path:
    """A module registering each named model with that many blocks of extra work (0: none)."""
    models = "".join(MODEL.format(name=name, extra=extra) for name, extra in extra_by_model.items())
    path.write_text(HEADER + models)
    return path
