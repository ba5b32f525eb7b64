"""A small CNN trained at first use on scikit-learn's bundled digits (real data, no download).

It is the zoo's one model with real accuracy: quantization rows report its
held-out accuracy in percent for each variant, and the drop from FP32.
"""

import functools
import hashlib
import os
from pathlib import Path

from zoo.registry import register_model, weights_dir
from zoo.spec import HeldOut, InputSpec, QuantPolicy, Task

_SEED = 0
_EPOCHS = 15
_TEST_SHARE = 0.2


@functools.cache  # training, calibration, evaluation and accuracy all read the same split
def _split():
    """(x_train, y_train, x_test, y_test): images scaled to [0, 1] as (N, 1, 8, 8) float32."""
    import numpy as np
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    order = np.random.default_rng(_SEED).permutation(len(images))
    cut = int(len(images) * (1 - _TEST_SHARE))
    train, test = order[:cut], order[cut:]
    return images[train], digits.target[train], images[test], digits.target[test]


def digits_held_out() -> HeldOut:
    x_train, _, x_test, y_test = _split()
    return HeldOut("image", calibration=x_train[:64], test_inputs=x_test, test_labels=y_test)


def _network():
    import torch
    from torch import nn

    torch.manual_seed(_SEED)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )


def _weights_path(torch_version: str) -> Path | None:
    # The harness gives its workers its cache folder; without one, train every time.
    root = weights_dir()
    if root is None:
        return None
    tag = hashlib.sha256(f"{torch_version}-{_SEED}-{_EPOCHS}".encode()).hexdigest()[:12]
    return root / "trained" / f"digits_cnn-{tag}.pt"


def _train(model) -> None:
    import torch

    x_train, y_train, _, _ = _split()
    x, y = torch.from_numpy(x_train), torch.from_numpy(y_train).long()
    generator = torch.Generator().manual_seed(_SEED)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(_EPOCHS):
        for batch in torch.randperm(len(x), generator=generator).split(64):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
    model.eval()


@register_model(
    inputs=[InputSpec("image", ("batch", 1, 8, 8))],
    dims={"batch": 1},
    other_dims=[{"batch": 2}, {"batch": 5}],
    task=Task.CLASSIFICATION,
    tags={"cnn", "trained", "tiny"},
    quant_policy=QuantPolicy(max_accuracy_drop=1.0),
    held_out=digits_held_out,
)
def digits_cnn():
    """Two convolutions and two linear layers, trained for a few seconds on 1437 digits."""
    import torch

    model = _network()
    path = _weights_path(torch.__version__)
    if path is not None and path.is_file():
        model.load_state_dict(torch.load(path, weights_only=True))
        return model.eval()
    with torch.random.fork_rng():
        _train(model)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
        torch.save(model.state_dict(), tmp)
        os.replace(tmp, path)
    return model.eval()
