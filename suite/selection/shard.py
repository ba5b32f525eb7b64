"""Splitting a run across machines: `--zoo-shard K/N` takes whole models, so a model's exports and cache stay together.

CI runners are the distributed engine; this only decides, deterministically and the same
on every runner, which models a shard takes. Shards of one run share a run id
(`--zoo-run-id`) and their rows meet in the history (or `python -m suite.cli.history import`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as written on the command line
    count: int

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(value: str) -> Shard:
    """ "2/3" -> the second of three shards."""
    index_text, _, count_text = value.partition("/")
    try:
        index, count = int(index_text), int(count_text)
    except ValueError:
        raise ValueError(f"--zoo-shard takes K/N, e.g. 1/3, got {value!r}") from None
    if count < 1 or not 1 <= index <= count:
        raise ValueError(f"--zoo-shard {value!r}: K must be between 1 and N (e.g. 1/{max(count, 2)})")
    return Shard(index, count)


def models_of_shard(cases_per_model: Mapping[str, int], shard: Shard) -> set[str]:
    """The models shard K takes: the largest models first, each to the least loaded shard.

    The assignment depends only on the names and case counts, so every runner computes the
    same split; ties go by name and then to the lowest shard.
    """
    loads = [0] * shard.count
    assigned: dict[str, int] = {}
    for model, weight in sorted(cases_per_model.items(), key=lambda item: (-item[1], item[0])):
        target = min(range(shard.count), key=lambda i: (loads[i], i))
        loads[target] += weight
        assigned[model] = target
    return {model for model, target in assigned.items() if target == shard.index - 1}
