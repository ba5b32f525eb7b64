"""Known failures, as data: which cases, what status, why, and where it is tracked.

A case that fails with the expected status becomes an xfail row that still
carries the real message; one that passes becomes xpass, so a stale entry is
seen; an entry that matched no case in a run is listed in the report.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass


@dataclass(frozen=True)
class Expectation:
    """A known failure.

    Attributes:
        case_glob: Glob over case ids, e.g. "gpt2-torchscript-*".
        status: The status the case is expected to end in.
        reason: Why, in one sentence.
        link: Where it is tracked (issue URL), or "" when nobody tracks it yet.
    """

    case_glob: str
    status: str
    reason: str
    link: str = ""

    def matches(self, case_id: str) -> bool:
        return fnmatch.fnmatchcase(case_id, self.case_glob)


# Each entry was measured (torch 2.14.1, onnx 1.23.2, onnxruntime 1.32.0) before it was written down.
EXPECTATIONS: list[Expectation] = [
    Expectation(
        "ssdlite320_mobilenet_v3_large-dynamo-*",
        "export_error",
        "torch.export cannot trace torchvision's batched_nms: it guards on a data-dependent box count "
        "(GuardOnDataDependentSymNode)",
        "https://github.com/pytorch/pytorch/issues/146152",
    ),
    Expectation(
        "lstm-dynamo-*-dynamic-*",
        "export_error",
        "torch.export's nn.LSTM decomposition specializes the time axis, so seq is written as a fixed size",
        "https://github.com/google-ai-edge/litert-torch/issues/1062",
    ),
    Expectation(
        "gru-dynamo-*-dynamic-*",
        "export_error",
        "torch.export's nn.GRU decomposition specializes the time axis, so seq is written as a fixed size",
        "https://github.com/google-ai-edge/litert-torch/issues/1062",
    ),
    Expectation(
        "transformer_encoder-torchscript-*-dynamic-*",
        "mismatch",
        "the TorchScript tracer records nn.MultiheadAttention's reshape with the traced sequence length, "
        "so other sizes fail in a Reshape node",
    ),
]


def expectation_for(case_id: str) -> Expectation | None:
    """The first expectation whose glob matches `case_id`."""
    return next((e for e in EXPECTATIONS if e.matches(case_id)), None)
