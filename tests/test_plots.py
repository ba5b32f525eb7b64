"""suite.report.plots: each chart is a decodable base64 PNG, or "" when there is nothing to draw."""

from __future__ import annotations

import base64
import re
import struct
import subprocess
import sys
from typing import Any

import pandas as pd
import pytest

from suite.report.latency import LATENCY_COLUMNS, latency_rows
from suite.report.plots import figure, latency_bars, trend, vs_baseline

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NAN = float("nan")


def _png_size(fragment: str) -> tuple[int, int]:
    """Width and height from the IHDR chunk of the one PNG embedded in fragment."""
    assert fragment.startswith('<figure class="plot"><img alt="')
    assert fragment.endswith("</figcaption></figure>")
    match = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', fragment)
    assert match, fragment[:200]
    png = base64.b64decode(match.group(1), validate=True)
    assert png[:8] == PNG_MAGIC
    assert png[12:16] == b"IHDR"  # the first chunk, as the PNG spec requires
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _caption(fragment: str) -> str:
    match = re.search(r"<figcaption>(.*)</figcaption>", fragment)
    assert match
    return match.group(1)


def _assert_png(fragment: str) -> None:
    width, height = _png_size(fragment)
    assert width > 100 and height > 100
    assert width <= figure.WIDTH_IN * figure.DPI + 1  # small enough for the HTML page


def _lat(model: str, variant: str, p50: float, status: str = "pass", provider: str = "cpu") -> dict[str, Any]:
    package = "onnxruntime" if provider == "cpu" else f"onnxruntime-{provider}"
    return {
        "case_id": f"{model}-torchscript-op17-static-lat.{variant}.{provider}",
        "path": f"lat.{variant}.{provider}",
        "model": model,
        "variant": variant,
        "ort_package": package,
        "provider_label": provider,
        "status": status,
        "p50_ms": p50,
    }


@pytest.fixture
def latency() -> pd.DataFrame:
    """latency_rows of a small run: two models, three variants, one failure."""
    rows = [
        _lat("resnet18", "fp32", 12.0),
        _lat("resnet18", "opt_ort_extended", 10.0),
        _lat("resnet18", "quant_int8_dynamic", 6.5),
        _lat("digits_mlp", "fp32", 0.04),
        _lat("digits_mlp", "quant_int8_dynamic", 0.05),
        _lat("digits_mlp", "opt_ort_extended", NAN, status="runtime_error"),
    ]
    return latency_rows(pd.DataFrame(rows))


def test_latency_and_speedup_charts_draw_passing_rows(latency: pd.DataFrame) -> None:
    _assert_png(latency_bars.latency_chart(latency))
    _assert_png(latency_bars.speedup_chart(latency))
    assert latency_bars.LATENCY_TITLE in latency_bars.latency_chart(latency)  # the title is the alt text


def test_several_providers_label_bars_variant_at_provider() -> None:
    frame = latency_rows(
        pd.DataFrame(
            [
                _lat("m", "fp32", 4.0),
                _lat("m", "quant_fp16", 8.0),
                _lat("m", "fp32", 2.0, provider="openvino"),
                _lat("m", "quant_fp16", NAN, status="fallback", provider="openvino"),
            ]
        )
    )
    series = latency_bars._latency_series(frame, "p50_ms")
    assert sorted(series["series"]) == ["fp32 @ cpu", "fp32 @ openvino", "quant_fp16 @ cpu"]
    _assert_png(latency_bars.latency_chart(frame))
    _assert_png(latency_bars.speedup_chart(frame))


@pytest.mark.parametrize(
    "frame",
    [pd.DataFrame(), pd.DataFrame(columns=list(LATENCY_COLUMNS))],
    ids=["no-columns", "no-rows"],
)
def test_empty_frames_draw_nothing(frame: pd.DataFrame) -> None:
    assert latency_bars.latency_chart(frame) == ""
    assert latency_bars.speedup_chart(frame) == ""
    assert vs_baseline.diff_latency_chart(frame) == ""
    assert trend.trend_chart(frame, ["a"]) == ""


def test_only_failing_rows_draw_nothing() -> None:
    frame = latency_rows(
        pd.DataFrame(
            [
                _lat("m", "fp32", NAN, status="crash"),
                _lat("m", "quant_fp16", NAN, status="fallback"),
                _lat("n", "fp32", 3.0, status="timeout"),  # a figure on a failed row is not drawn either
            ]
        )
    )
    assert latency_bars.latency_chart(frame) == ""
    assert latency_bars.speedup_chart(frame) == ""


def test_speedup_chart_needs_a_variant_besides_fp32() -> None:
    frame = latency_rows(pd.DataFrame([_lat("m", "fp32", 4.0), _lat("n", "fp32", 2.0)]))
    assert latency_bars.latency_chart(frame) != ""
    assert latency_bars.speedup_chart(frame) == ""


def _diff(count: int) -> pd.DataFrame:
    verdicts = ["slower", "faster", "within_noise", "unchanged", "inconclusive"]
    return pd.DataFrame(
        {
            "case_id": [f"model{i}-torchscript-op17-static-lat.fp32.cpu" for i in range(count)],
            "latency_verdict": [verdicts[i % len(verdicts)] for i in range(count)],
            "p50_ratio": [0.5 + i / count for i in range(count)],
            "detectable_change": [0.1 + (i % 3) / 10 for i in range(count)],
        }
    )


def test_diff_chart_skips_cases_without_a_ratio() -> None:
    diff = pd.concat(
        [
            _diff(5),
            pd.DataFrame(
                {
                    "case_id": ["gpt2-dynamo-op18-static-ort_cpu", "m-lat.fp32.cpu", "n-lat.fp32.cpu"],
                    "latency_verdict": ["", "not_measured", "inconclusive"],
                    "p50_ratio": [NAN, NAN, 1.3],
                    "detectable_change": [NAN, NAN, NAN],  # no band: a dot alone
                }
            ),
        ],
        ignore_index=True,
    )
    fragment = vs_baseline.diff_latency_chart(diff)
    _assert_png(fragment)
    assert _caption(fragment).startswith("6 latency cases")
    assert "Showing" not in _caption(fragment)


def test_diff_chart_without_any_ratio_draws_nothing() -> None:
    diff = pd.DataFrame(
        {
            "case_id": ["a", "b"],
            "latency_verdict": ["", "not_measured"],
            "p50_ratio": [NAN, None],
            "detectable_change": [NAN, NAN],
        }
    )
    assert vs_baseline.diff_latency_chart(diff) == ""


def test_diff_chart_over_sixty_cases_keeps_the_extremes() -> None:
    fragment = vs_baseline.diff_latency_chart(_diff(75))
    _assert_png(fragment)
    assert "30 largest and 30 smallest of 75" in _caption(fragment)
    rows = vs_baseline._diff_rows(_diff(75))
    assert rows["ratio"].is_monotonic_increasing  # head and tail are the smallest and largest


def _trend(runs: int) -> pd.DataFrame:
    rows = []
    for k in range(runs):
        run_id = f"202601{k + 1:02d}-120000-{4000 + k}"
        started = f"2026-01-{k + 1:02d}T12:00:00+00:00"
        status = "timeout" if k == 2 else "pass"
        p50 = NAN if status != "pass" else 10.0 + k % 3
        rows.append(dict(run_id=run_id, started_at=started, case_id="m-lat.fp32.cpu", status=status, p50_ms=p50))
        status = "xfail" if k < 2 else "mismatch"
        rows.append(dict(run_id=run_id, started_at=started, case_id="m-tf_roundtrip", status=status, p50_ms=NAN))
    # Out of time order on purpose: the chart sorts by started_at.
    return pd.DataFrame(rows).iloc[::-1].reset_index(drop=True)


def test_trend_chart_draws_latency_and_status_panels() -> None:
    fragment = trend.trend_chart(_trend(6), ["m-lat.fp32.cpu", "m-tf_roundtrip", "not-in-trend"])
    _assert_png(fragment)
    assert "cases shown" not in _caption(fragment)


def test_trend_chart_without_known_cases_draws_nothing() -> None:
    assert trend.trend_chart(_trend(3), []) == ""
    assert trend.trend_chart(_trend(3), ["not-in-trend"]) == ""


def test_trend_chart_caps_cases_and_runs() -> None:
    runs = pd.concat(
        [_trend(35).assign(case_id=lambda f, i=i: f["case_id"] + f"-{i}") for i in range(7)], ignore_index=True
    )
    case_ids = list(dict.fromkeys(runs["case_id"]))
    assert len(case_ids) == 14
    fragment = trend.trend_chart(runs, case_ids)
    _assert_png(fragment)
    caption = _caption(fragment)
    assert "12 of 14 cases shown" in caption
    assert "Last 30 of 35 runs" in caption


def test_run_order_follows_started_at() -> None:
    assert trend._run_order(_trend(3)) == [f"202601{k:02d}-120000-{3999 + k}" for k in (1, 2, 3)]
    assert trend._short_run_id("20260131-142501-4242") == "01-31 14:25"


def test_charts_leave_pyplot_alone() -> None:
    """Drawing never imports pyplot, whose backend and figure registry are process-wide."""
    code = (
        "import sys, pandas as pd; "
        "from suite.report.plots import figure, latency_bars, ratio_axis, trend, vs_baseline; "
        "frame = pd.DataFrame({'model': ['m'], 'variant': ['fp32'], 'status': ['pass'], 'p50_ms': [1.0]}); "
        "assert latency_bars.latency_chart(frame); "
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_ab_chart_draws_timed_cases_and_the_latency_section_shows_them() -> None:
    from suite.report.latency import render_latency

    def ab(model: str, verdict: str, ratio: float, low: float, high: float) -> dict[str, Any]:
        extra = {"ab_baseline_run": "base-1", "ab_verdict": verdict, "ab_min_effect": 0.05}
        return {**_lat(model, "fp32", 1.0), **extra, "ab_ratio": ratio, "ab_ci_low": low, "ab_ci_high": high}

    rows = pd.DataFrame(
        [
            ab("resnet18", "slower", 2.0, 1.9, 2.1),
            ab("mlp", "unchanged", 1.0, 0.98, 1.02),
            {**_lat("gru", "fp32", 1.0), "ab_baseline_run": "base-1", "ab_verdict": "identical artifact"},
        ]
    )
    chart = vs_baseline.ab_chart(rows)
    _assert_png(chart)
    assert _caption(chart).startswith("2 latency cases timed A/B")  # the identical artifact has no ratio
    section = render_latency(rows)
    assert "Latency A/B against base-1" in section and "slower 1, unchanged 1, identical artifact 1" in section
    assert vs_baseline.ab_chart(rows.iloc[[2]]) == "" and "Latency A/B" not in render_latency(
        rows.drop(columns="ab_verdict")
    )
