"""What a framework worker process is started with: passed to its initializer, not through the environment."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WorkerSettings:
    """The run's settings a torch or TF worker needs before it builds a model."""

    user_modules: tuple[str, ...] = ()  # --zoo-module files and modules that register models
    # Thread pools of eager baselines, as the latency path's sessions have (both frameworks fix
    # them before their first parallel op); None leaves the framework's default.
    intra_op_threads: int | None = None
    inter_op_threads: int | None = None
    weights_dir: str | None = None  # where models trained at first use keep their weights (the cache)
    checkpoints_dir: str | None = None  # save_pretrained folders of corpus entries (zoo.checkpoints)
    memory_bytes: int | None = None  # the worker's memory budget (suite.core.budget); None: no cap
