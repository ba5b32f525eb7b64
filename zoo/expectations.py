"""Known failures, as data: which cases, what status, why, and where it is tracked.

A case that fails with the expected status becomes an xfail row that still
carries the real message; one that passes becomes xpass, so a stale entry is
seen; the report lists every entry with the cases it matched in the run, and
flags one whose cases all passed (stale) or that matched no case.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Expectation:
    """A known failure.

    Attributes:
        case_glob: Glob over case ids, e.g. "gpt2-torchscript-*"; "|" separates alternatives.
        status: The status the case is expected to end in.
        reason: Why, in one sentence.
        link: Where it is tracked (issue URL), or "" when nobody tracks it yet.
        repro: A folder of this repository that reproduces it in a few lines without the suite
            (its README is the upstream report, ready to file), or "".
    """

    case_glob: str
    status: str
    reason: str
    link: str = ""
    repro: str = ""

    def reference(self) -> str:
        """Where to look further, for a row's expectation text: the tracker and the repro folder."""
        return ", ".join(filter(None, (self.link, f"repro: {self.repro}" if self.repro else "")))

    def matches(self, case_id: str) -> bool:
        return any(fnmatch.fnmatchcase(case_id, glob) for glob in self.case_glob.split("|"))


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
        "transformer_encoder-torchscript-*-dynamic-*",
        "mismatch",
        "the TorchScript tracer records nn.MultiheadAttention's reshape with the traced sequence length, "
        "so other sizes fail in a Reshape node",
    ),
    # Latency path (onnxruntime 1.32.0 CPU; onnxruntime-openvino 1.24.1).
    Expectation(
        "gru-*-dynamic-lat.quant_fp16.cpu|lstm-*-dynamic-lat.quant_fp16.cpu|vit_tiny-*-dynamic-lat.quant_fp16.cpu",
        "crash",
        "onnxruntime 1.24 and 1.32 segfault creating a CPU session for the FP16 conversion of these dynamic "
        "graphs at ORT_ENABLE_ALL (ORT_ENABLE_EXTENDED loads them; the OpenVINO provider runs them)",
    ),
    Expectation(
        "|".join(
            f"{model}-*-lat.quant_int8_dynamic.openvino"
            for model in (
                "deeplabv3_mobilenet_v3_large",
                "digits_cnn",
                "efficientnet_b0",
                "mobilenet_v3_small",
                "resnet18",
                "vit_tiny",
            )
        ),
        "runtime_error",
        "onnxruntime-openvino 1.24.1 rejects the session for these INT8 dynamic graphs: "
        "'This is an invalid model. Error: the graph is not acyclic.'",
    ),
    Expectation(
        "gpt2_tiny-*-lat.opt_transformers.openvino",
        "runtime_error",
        "OpenVINO's ONNX frontend reads SkipLayerNormalization (written by onnxruntime.transformers' optimizer) "
        "with 1 output where the graph has 4",
    ),
    Expectation(
        "keras_lstm-tf2onnx-*-static-ort_openvino*|keras_lstm-tf2onnx-*-static-lat.*.openvino*",
        "crash",
        "onnxruntime-openvino 1.24.1 segfaults creating a session for tf2onnx's static Keras LSTM, a Loop whose "
        "body reads the sequence from the outer scope (the dynamic exports, an LSTM node, run)",
        repro="docs/repros/openvino_loop_segfault",
    ),
    Expectation(
        "transformer_encoder-dynamo-op2[3-9]-*-ort_openvino*|vit_tiny-dynamo-op2[3-9]-*-ort_openvino*",
        "runtime_error",
        "onnxruntime-openvino 1.24.1 claims the ONNX Attention op (which torch.export writes from opset 23) and "
        "then cannot read it, so the session fails instead of leaving the node to the CPU provider",
        repro="docs/repros/openvino_attention_claimed",
    ),
    Expectation(
        "ssdlite320_mobilenet_v3_large-*-lat.quant_fp16.*|ssdlite320_mobilenet_v3_large-*-quant_fp16",
        "runtime_error",
        "the FP16 converter (keep_io_types) inserts a Cast in the main graph that reads a tensor defined inside "
        "a subgraph, so the file is invalid: 'Node input ... is not a graph input, initializer, or output'",
    ),
]


def expectation_for(case_id: str) -> Expectation | None:
    """The first expectation whose glob matches `case_id`."""
    return next((e for e in EXPECTATIONS if e.matches(case_id)), None)


def expectation_usage(statuses: Mapping[str, str]) -> list[dict[str, Any]]:
    """Each expectation with the run's cases it decided ({case_id: status}), and whether it looks stale.

    A case is decided by the first matching entry (expectation_for). "stale" when every case
    it decided passed (xpass); "matched no case" when the run had none; else "in use".
    """
    decided: dict[int, list[str]] = {}
    for case_id, status in statuses.items():
        entry = expectation_for(case_id)
        if entry is not None:
            decided.setdefault(EXPECTATIONS.index(entry), []).append(status)
    usage = []
    for index, entry in enumerate(EXPECTATIONS):
        found = decided.get(index, [])
        if not found:
            state = "matched no case in this run"
        elif all(s == "xpass" for s in found):
            state = "stale: every case it matched passed"
        else:
            state = "in use"
        usage.append(
            {
                "case_glob": entry.case_glob,
                "status": entry.status,
                "reason": entry.reason,
                "link": entry.link,
                "repro": entry.repro,
                "cases": len(found),
                "xfail": found.count("xfail"),
                "xpass": found.count("xpass"),
                "state": state,
            }
        )
    return usage
