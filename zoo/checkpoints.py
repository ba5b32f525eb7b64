"""Real weights from a local folder for the generated corpus entries; seeded random weights stay the default.

Random weights make some verdicts degenerate (near-tied detections, collapsed outputs); users test
their own checkpoints. Nothing is ever downloaded: an entry takes real weights only from files
already on disk.

- transformers: `--zoo-checkpoints DIR` (or $ZOO_CHECKPOINTS) holds `save_pretrained` folders named
  after the entries, `DIR/hf_bert/config.json` + its weights; the entry hf_bert then builds
  AutoModel's class for its type `from_pretrained` that folder (eager attention) instead of its
  shrunk config. The entry's inputs stay as declared: token ids below 128 suit any vocabulary;
  a vision or audio checkpoint must take the entry's input size.
- torchvision: a builder's default weights file already in torch hub's cache folder
  ($TORCH_HOME/hub/checkpoints, torch.hub.get_dir()) is loaded instead of random weights
  (quantized builders excepted: the corpus quantizes its own float model).

Every row says which (`weights_source`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

CHECKPOINTS_ENV = "ZOO_CHECKPOINTS"
RANDOM = "seeded random weights"
BUILT = "its builder's (seeded)"  # a hand-written zoo entry or a user module: whatever its builder makes
_DIR: list[Path] = []


def set_checkpoints_dir(path: str | Path | None) -> None:
    """Where save_pretrained folders are looked for (the harness passes --zoo-checkpoints); None: nowhere."""
    _DIR[:] = [Path(path)] if path else []


def checkpoints_dir() -> Path | None:
    return _DIR[0] if _DIR else None


def transformers_checkpoint(entry: str) -> Path | None:
    """The save_pretrained folder for corpus entry `entry` (hf_<type>), or None."""
    root = checkpoints_dir()
    folder = None if root is None else root / entry
    return folder if folder is not None and (folder / "config.json").is_file() else None


def torchvision_weights(builder: str) -> Any | None:
    """The builder's default weights enum where its file is already in torch hub's cache, else None."""
    import torch
    import torchvision

    try:
        weights = torchvision.models.get_model_weights(builder).DEFAULT
    except (ValueError, KeyError, AttributeError):
        return None
    cached = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)
    return weights if cached.is_file() else None


def weights_source(entry: str) -> str:
    """What the row says about an entry's weights."""
    folder = transformers_checkpoint(entry)
    if folder is not None:
        return f"checkpoint {folder}"
    if entry.startswith("tv_") and not entry.startswith("tv_quantized_"):
        weights = torchvision_weights(entry[3:])
        if weights is not None:
            return f"torchvision {weights} (torch hub's cache)"
    return RANDOM if entry.startswith(("tv_", "hf_")) else BUILT
