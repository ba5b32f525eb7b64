"""Environment A/B: the same artifacts timed in two environments, interleaved, in one command.

    python -m suite.cli.env_ab RUN_DIR --a /venvs/ort131/bin/python --b .venv/bin/python
    python -m suite.cli.env_ab RUN_DIR --a .venv/bin/python --b .tox/openvino/bin/python@openvino

Each side is an interpreter (a tox env, a venv), optionally @provider (cpu, openvino, cuda, ...;
default cpu). A timing worker (suite/latency_ab/timing_worker.py, numpy and onnxruntime only) starts in each, and
the parent alternates them block by block on the same artifact and the same inputs, so both see
the same machine state. The artifacts are those the run's latency rows timed (kept by content
under the report folder's artifacts/), the inputs the zoo's seeded ones. Writes env_ab.csv and
env_ab.html (ratio B/A with its interval per case, the verdict, and whether the outputs agree).
"""

from __future__ import annotations

import argparse
import html
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from suite.cli.pipes import quiet_on_closed_pipe
from suite.core.run_folder import HistoryError, read_run_folder
from suite.judge.inputs import make_inputs
from suite.latency_ab.interleaved import SESSIONS, AbPlan, Side, judge, time_sides
from suite.latency_ab.kept_artifacts import ARTIFACTS_DIR, ArtifactStore
from suite.paths.latency_ab import outputs_agreement
from suite.paths.latency_cases import timed_dims
from suite.runtime.providers import alias_name
from zoo.registry import ModelRegistry, UnknownModelError, ZooModuleError

WORKER = Path(__file__).resolve().parent.parent / "latency_ab" / "timing_worker.py"


class EnvAbError(RuntimeError):
    """A side that cannot time (its worker died, its onnxruntime refused the model)."""


@dataclass(frozen=True)
class Environment:
    python: str
    provider: str  # the ONNX Runtime provider name, e.g. CPUExecutionProvider

    @staticmethod
    def parse(text: str) -> Environment:
        python, _, provider = text.partition("@")
        if not Path(python).is_file():
            raise SystemExit(f"env_ab: {python} is not an interpreter; give the python of a venv or tox env")
        return Environment(python, alias_name(provider or "cpu"))


class TimingWorker:
    """One environment's worker process, driven line by line."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self.process = subprocess.Popen(
            [environment.python, str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )

    def ask(self, **command: Any) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise EnvAbError(f"the worker of {self.environment.python} ended (exit {self.process.poll()})")
        answer = json.loads(line)
        if not answer.get("ok"):
            raise EnvAbError(answer.get("error", "unknown error"))
        return answer

    def side(self) -> Side:
        """The worker's sessions (SESSIONS of them, taken in turn there) as one side of the A/B."""
        warm = lambda seconds: self.ask(op="warm", seconds=seconds)["per_call"]  # noqa: E731
        block = lambda calls: self.ask(op="block", calls=calls)["seconds"]  # noqa: E731
        return Side(warm, block, SESSIONS)

    def close(self) -> None:
        try:
            self.ask(op="quit")
        except (EnvAbError, OSError, ValueError):
            pass
        self.process.kill()
        self.process.wait(timeout=30)


def timed_cases(run_dir: Path, variants: Sequence[str]) -> pd.DataFrame:
    """The run's passed latency rows on the CPU provider with a kept artifact, one per model and variant."""
    rows = pd.DataFrame(read_run_folder(run_dir).rows)
    if "artifact_sha256" not in rows:
        raise SystemExit(f"env_ab: {run_dir} has no latency rows with kept artifacts; run the latency path first")
    rows = rows[(rows["path"] == "latency") & (rows["status"] == "pass") & rows["artifact_sha256"].notna()]
    rows = rows[rows["provider_label"] == "cpu"]
    if variants:
        rows = rows[rows["variant"].isin(variants)]
    return rows.drop_duplicates(["model", "variant"]).reset_index(drop=True)


def ab_case(row: dict[str, Any], a: TimingWorker, b: TimingWorker, models: ModelRegistry, store: ArtifactStore,
            plan: AbPlan, scratch: Path) -> dict[str, Any]:  # fmt: skip
    """One artifact timed in both environments; the row of env_ab.csv."""
    try:
        spec = models.get(str(row["model"]))
    except UnknownModelError:
        raise EnvAbError(f"{row['model']} is not a zoo model here (an ONNX file, or a missing --zoo-module)") from None
    model = store.find(str(row["artifact_sha256"]))
    if model is None:
        raise EnvAbError(f"artifact {str(row['artifact_sha256'])[:12]} is not kept in {store.root}")
    feeds = make_inputs(spec, timed_dims(spec, str(row["shape"])))
    np.savez(scratch / "feeds.npz", **feeds)
    threads = {"intra_op": int(row.get("intra_op_threads") or 2), "inter_op": int(row.get("inter_op_threads") or 1)}
    (a_env, a_out), (b_env, b_out) = (_load(w, model, scratch, threads) for w in (a, b))
    agreement = outputs_agreement(a_out, b_out, spec.tolerance)
    verdict = judge(time_sides(a.side(), b.side(), plan), plan)
    return {
        "case_id": row["case_id"],
        "model": row["model"],
        "variant": row["variant"],
        "a_environment": a_env,
        "b_environment": b_env,
        **verdict.columns(),
        **agreement,
    }


def _load(worker: TimingWorker, model: Path, scratch: Path, threads: dict[str, int]) -> tuple[str, list[np.ndarray]]:
    """The artifact loaded in the worker on its provider (a fallback is refused); its environment and outputs."""
    provider = worker.environment.provider
    outputs = scratch / "outputs.npz"
    feeds = str(scratch / "feeds.npz")
    command = {"model": str(model), "provider": provider, "feeds": feeds, "outputs": str(outputs), **threads}
    loaded = worker.ask(op="load", sessions=SESSIONS, **command)
    if loaded["providers"][0] != provider:
        raise EnvAbError(f"asked {worker.environment.python} for {provider}, it runs on {loaded['providers'][0]}")
    with np.load(outputs) as stored:
        arrays = [stored[f"arr_{i}"] for i in range(len(stored.files))]
    return f"{loaded['package']} {loaded['version']} {provider}", arrays


@quiet_on_closed_pipe
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m suite.cli.env_ab", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a run folder whose latency rows kept their artifacts")
    parser.add_argument("--a", required=True, help="environment A: PYTHON[@provider] (the baseline)")
    parser.add_argument("--b", required=True, help="environment B: PYTHON[@provider] (the candidate)")
    parser.add_argument("--variants", default="", help="comma-separated variants (default: every timed one)")
    parser.add_argument("--out", type=Path, default=None, help="where env_ab.csv/html go (default: the run folder)")
    parser.add_argument("--seconds", type=float, default=2.0, help="measured time per case, both sides together")
    parser.add_argument("--min-effect", type=float, default=0.05, help="smallest change called slower/faster")
    parser.add_argument(
        "--zoo-module", action="append", default=[], help="modules of models the run had (default: its recorded ones)"
    )
    args = parser.parse_args(argv)
    environments = Environment.parse(args.a), Environment.parse(args.b)
    run_dir = args.run_dir.resolve()
    try:
        cases = timed_cases(run_dir, [v for v in args.variants.split(",") if v])
        models = ModelRegistry().load_builtin().load_modules(args.zoo_module or recorded_modules(run_dir))
    except (HistoryError, ZooModuleError) as exc:
        raise SystemExit(f"env_ab: {exc}") from None
    out = (args.out or run_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    # The folder's own copies of what it timed (a folder downloaded from another runner), else its report folder's.
    own = run_dir / ARTIFACTS_DIR
    store = ArtifactStore(own if own.is_dir() else run_dir.parent.parent / ARTIFACTS_DIR)
    plan = AbPlan(target_s=args.seconds, min_effect=args.min_effect)
    a, b = (TimingWorker(environment) for environment in environments)
    found = []
    try:
        with tempfile.TemporaryDirectory(prefix="zoo-env-ab-") as scratch:
            for index, row in enumerate(cases.to_dict("records"), 1):
                try:
                    result = ab_case(row, a, b, models, store, plan, Path(scratch))
                except EnvAbError as exc:
                    result = {"case_id": row["case_id"], "model": row["model"], "variant": row["variant"],
                              "ab_verdict": f"not timed: {exc}"}  # fmt: skip
                found.append(result)
                ratio = result.get("ab_ratio")
                said = f"{ratio:.3f} [{result['ab_ci_low']:.3f}, {result['ab_ci_high']:.3f}]" if ratio else ""
                print(f"[{index}/{len(cases)}] {row['case_id']}: {result['ab_verdict']} {said}", flush=True)
    finally:
        a.close()
        b.close()
    table = pd.DataFrame(found)
    table.to_csv(out / "env_ab.csv", index=False)
    (out / "env_ab.html").write_text(render(table, args.a, args.b))
    print(f"{len(table)} cases: {table['ab_verdict'].value_counts().to_dict()}\ncsv: {out / 'env_ab.csv'}")
    return 0


def recorded_modules(run_dir: Path) -> list[str]:
    """The --zoo-module values the run was invoked with (its metadata's argv), so its own models can
    be built for their inputs; none where the folder has no metadata."""
    meta = run_dir / "metadata.json"
    argv = [str(a) for a in json.loads(meta.read_text()).get("argv", [])] if meta.is_file() else []
    found = [a.split("=", 1)[1] for a in argv if a.startswith("--zoo-module=")]
    found += [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--zoo-module"]
    return found


def render(table: pd.DataFrame, a: str, b: str) -> str:
    from suite.report.latency import frame_table
    from suite.report.plots.vs_baseline import ab_chart

    return (
        "<!doctype html><meta charset='utf-8'><title>Environment A/B</title>"
        f"<h1>Environment A/B</h1><p>A: {html.escape(a)}<br>B: {html.escape(b)}<br>Ratio B/A per case, timed "
        "interleaved block by block on the same artifact and inputs; verdict from the paired ratios (README).</p>"
        f"{ab_chart(table)}{frame_table(table, 'env-ab')}"
    )


if __name__ == "__main__":
    sys.exit(main())
