"""A user module (--zoo-module) whose model does a chosen amount of extra work with the same outputs:
the injected slowdowns of the latency A/B checks. `write_module(path, extra)` writes one."""

from pathlib import Path

TEMPLATE = '''"""slowable: 20 blocks of real work, plus {extra} blocks whose result is multiplied by zero."""

from zoo import InputSpec, Task, register_model

EXTRA = {extra}


@register_model(inputs=[InputSpec("x", (1, 512))], task=Task.REGRESSION, tags={{"ab"}})
def slowable():
    import torch

    class Slowable(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.real = torch.nn.ModuleList(torch.nn.Linear(512, 512) for _ in range(20))
            self.extra = torch.nn.ModuleList(torch.nn.Linear(512, 512) for _ in range(EXTRA))

        def forward(self, x):
            y = x
            for layer in self.real:
                y = torch.tanh(layer(y))
            z = x
            for layer in self.extra:
                z = torch.tanh(layer(z))
            return y + 0.0 * z.sum() if EXTRA else y

    return Slowable()
'''


def write_module(path: Path, extra: int) -> Path:
    """A module registering `slowable` with `extra` blocks of extra work (0: the baseline's model)."""
    path.write_text(TEMPLATE.format(extra=extra))
    return path
