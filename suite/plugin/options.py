"""The --zoo-* command-line options: their names, defaults and help. Read once, by suite.plugin.settings."""

from __future__ import annotations

import os

import pytest

from suite.core.budget import MEMORY_ENV
from suite.core.run_folder import EXIT_REGRESSION
from suite.selection.profiles import profiles
from zoo.checkpoints import CHECKPOINTS_ENV

TRIAGE_ENV = "ZOO_TRIAGE"  # the --zoo-triage default where the option is not given


def add_options(parser: pytest.Parser) -> None:
    """Every --zoo-* option, with its default and help; suite.plugin.settings reads them, once."""
    group = parser.getgroup("zoo-suite", "zoo-suite: ONNX model zoo regression matrix")
    group.addoption("--zoo-profile", default="default", help=f"named selection: {', '.join(profiles())}")
    group.addoption("--zoo-models", default=None, help="comma-separated model globs to include (e.g. 'resnet*,mlp')")
    group.addoption("--zoo-exclude", default=None, help="comma-separated model globs to leave out")
    group.addoption("--zoo-exporters", default=None, help="comma-separated exporters: torchscript,dynamo")
    group.addoption(
        "--zoo-opsets",
        default=None,
        help="opsets for every exporter ('17,18') or per exporter ('torchscript:13;dynamo:18')",
    )
    group.addoption("--zoo-shapes", default=None, help="comma-separated shape modes: static,dynamic")
    group.addoption(
        "--zoo-paths",
        default=None,
        help="comma-separated paths after export: ort (ONNX Runtime), tf (onnx-tf -> SavedModel -> tf2onnx), "
        "version (onnx version converter), optimize (ORT levels, onnxscript), quantize (INT8, FP16)",
    )
    group.addoption(
        "--zoo-module",
        action="append",
        default=[],
        help="module (dotted name or .py path) that registers extra models with zoo.register_model; repeatable",
    )
    group.addoption(
        "--zoo-onnx-dir",
        action="append",
        default=[],
        help="folder of ONNX files from outside (ONNX Model Zoo layout: model folders with test_data_set_N, "
        "bare .onnx files, .tar.gz archives); each is a zoo entry, exporter 'onnx'; repeatable",
    )
    group.addoption(
        "--zoo-onnx-dims",
        default=None,
        help="sizes of named dims for ONNX files without test data, e.g. 'batch=1,seq=16'",
    )
    group.addoption(
        "--zoo-onnx-tolerance",
        default=None,
        help="tolerance for ONNX files from outside, e.g. 'rtol=1e-3,atol=1e-5' (default rtol=1e-3, atol=1e-4); "
        "a zoo_tolerance.json beside an entry or in a folder above it wins for the entries below it",
    )
    group.addoption(
        "--zoo-onnx-max-mb",
        type=float,
        default=2048.0,
        help="largest file, tensor or archive member (MiB) read from an ONNX folder; bigger is a model_error row",
    )
    group.addoption(
        "--zoo-providers",
        default="available",
        help="execution providers for the latency and ort paths: 'available' (every local one this onnxruntime offers) "
        "or a list with provider options, e.g. 'cpu,openvino[device_type=CPU],tensorrt[trt_fp16_enable=True]'",
    )
    group.addoption("--zoo-threads", type=int, default=2, help="intra-op threads for latency (ORT, torch, TF)")
    group.addoption(
        "--zoo-latency-seconds", type=float, default=1.0, help="measured time per latency case (rounds are calibrated)"
    )
    group.addoption("--zoo-report-dir", default=None, help="where run folders go (default: <rootdir>/reports)")
    group.addoption("--zoo-cache-dir", default=None, help="export and reference cache (default: <report dir>/cache)")
    group.addoption("--zoo-timeout", type=float, default=600.0, help="seconds one export or eager run may take")
    group.addoption("--zoo-no-cache", action="store_true", help="redo every export and reference, refreshing the cache")
    group.addoption(
        "--zoo-input-draw",
        type=int,
        default=0,
        help="first seeded input draw the hops are checked on (default 0); another value re-checks every "
        "verdict on other inputs",
    )
    group.addoption(
        "--zoo-triage",
        type=int,
        # A string default goes through type=int too: a bad $ZOO_TRIAGE is a one-line usage error.
        default=os.environ.get(TRIAGE_ENV),  # unset: the profile's (suite.selection.profiles.Profile.triage)
        help="red cases each worker process triages: the first divergent node, whose bug it is (blame), a repro "
        f"folder and an issue draft in the run's triage/ (default ${TRIAGE_ENV}, else the profile's: 40, corpus "
        "200; 0 turns triage off, -1 triages every one)",
    )
    group.addoption(
        "--zoo-checkpoints",
        default=os.environ.get(CHECKPOINTS_ENV),
        help="a folder of save_pretrained folders named after corpus entries (DIR/hf_bert ...): those entries "
        f"take its real weights instead of seeded random ones (default ${CHECKPOINTS_ENV}); nothing is downloaded",
    )
    group.addoption(
        "--zoo-worker-memory-gb",
        type=float,
        default=os.environ.get(MEMORY_ENV),
        help="each worker process's memory budget in GB: a step that needs more is a skip row saying so, never an "
        f"OOM kill (default ${MEMORY_ENV}, else the profile's worker_memory_gb, else the machine's memory "
        "less 2 GB, split between the parallel pytest processes; 0: no budget)",
    )
    group.addoption(
        "--zoo-history",
        default=None,
        help="results history database URL (default $ZOO_HISTORY_URL or sqlite:///<report dir>/history.sqlite; "
        "e.g. postgresql+psycopg://user@host/zoo); 'none' keeps no history",
    )
    group.addoption(
        "--zoo-baseline",
        default=None,
        help="diff this run against a baseline: a run folder, run id, baseline name, 'latest' or 'previous'; "
        f"exit {EXIT_REGRESSION} when the diff gate fails",
    )
    group.addoption(
        "--zoo-ab-min-effect",
        type=float,
        default=0.05,
        help="latency A/B against --zoo-baseline: the smallest change called slower or faster (default 0.05: 5%%)",
    )
    group.addoption(
        "--zoo-ab-seconds",
        type=float,
        default=2.0,
        help="latency A/B: measured time of baseline and candidate together, per case (default 2)",
    )
    group.addoption(
        "--zoo-ab-identical",
        action="store_true",
        help="latency A/B: time identical artifacts against each other too (an A/A check of the method's noise)",
    )
    group.addoption(
        "--zoo-fail-on",
        default="correctness",
        help="what fails the diff gate: correctness, drift, latency, removed (comma list), all, none",
    )
    group.addoption("--zoo-shard", default=None, help="run shard K of N (K/N), split by model, e.g. 1/3")
    group.addoption(
        "--zoo-continue",
        action="store_true",
        help="add this invocation's rows to the run folder of --zoo-run-id and write the report from all of "
        "them (make zoo: correctness paths on every core, then latency alone, as one run)",
    )
    group.addoption(
        "--zoo-resume",
        default=None,
        metavar="RUN_ID",
        help="finish the interrupted run RUN_ID (its folder in reports/runs): its finished cases keep their rows, "
        "the others run, and one report covers them all",
    )
    group.addoption(
        "--zoo-run-id", default=None, help="run id shared by the shards of one run (default $ZOO_RUN_ID or a new one)"
    )
