"""Tolerances calibrated from a model's float32 floor: deep and shallow nets each held to what float32 promises."""

import numpy as np
import pytest

from suite.judge.compare import compare_outputs
from suite.judge.floor import FLOOR_FACTOR, Bound, bounds_for, output_floor
from zoo.spec import Tolerance


def _net(depth: int, width: int = 64, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    # Weights scaled so activations keep their size through the layers (as a trained net's do).
    return [rng.standard_normal((width, width)) * (1.6 / np.sqrt(width)) for _ in range(depth)]


def _forward(weights: list[np.ndarray], x: np.ndarray, dtype: type, blocks: int = 1, wrong: bool = False) -> np.ndarray:
    """tanh MLP in `dtype`; blocks>1 sums each matmul's inner dimension in reversed blocks (another
    summation order, as another backend's kernel would); `wrong` is a kernel bug: tanh slightly off."""
    h = x.astype(dtype)
    for weight in weights:
        w = weight.astype(dtype)
        if blocks == 1:
            z = h @ w
        else:
            parts = np.array_split(np.arange(w.shape[0]), blocks)
            z = np.zeros((h.shape[0], w.shape[1]), dtype=dtype)
            for idx in reversed(parts):
                z = z + h[:, idx] @ w[idx]
        h = np.tanh(z) * (dtype(1.0005) if wrong else dtype(1))
    return h


def _judge(weights: list[np.ndarray], draw: int, **backend: object) -> tuple[bool, float]:
    x = np.random.default_rng(100 + draw).standard_normal((8, weights[0].shape[0]))
    ref32 = _forward(weights, x, np.float32)
    ref64 = _forward(weights, x, np.float64)
    candidate = _forward(weights, x, np.float32, **backend)
    bounds, rule = bounds_for([ref32], [ref64], Tolerance())
    assert rule.startswith("calibrated")
    comparison = compare_outputs([ref32], [candidate], expected_names=["y"], candidate_names=["y"], tolerance=bounds)
    return comparison.ok, comparison.outputs[0].floor_ratio or 0.0


@pytest.mark.parametrize("depth", [2, 24])
def test_another_summation_order_passes_on_every_draw_and_a_wrong_kernel_fails_on_every_draw(depth: int) -> None:
    weights = _net(depth)
    reordered = [_judge(weights, draw, blocks=7) for draw in range(10)]
    wrong = [_judge(weights, draw, wrong=True) for draw in range(10)]
    assert all(ok for ok, _ in reordered), reordered
    assert max(ratio for _, ratio in reordered) < FLOOR_FACTOR / 2  # the factor leaves room to spare
    assert not any(ok for ok, _ in wrong), wrong


def test_a_deep_nets_floor_is_larger_than_a_shallow_ones() -> None:
    x = np.random.default_rng(1).standard_normal((8, 64))
    floors = {}
    for depth in (2, 24):
        weights = _net(depth)
        floors[depth] = output_floor(_forward(weights, x, np.float32), _forward(weights, x, np.float64))
    assert floors[24] > 3 * floors[2]


def test_exact_dtypes_must_match_exactly_and_a_missing_float64_run_keeps_the_static_tolerance() -> None:
    labels = np.array([3, 1, 2])
    assert output_floor(labels, labels) == 0.0
    (bound,), _ = bounds_for([labels], [labels], Tolerance())
    off_by_one = compare_outputs([labels], [labels + 1], expected_names=["l"], candidate_names=["l"], tolerance=[bound])
    assert not off_by_one.ok
    bounds, rule = bounds_for([np.zeros(3, np.float32)], None, Tolerance(atol=1e-3, rtol=0.0))
    assert rule == "static" and bounds == (Bound(1e-3, 0.0),)
    _, rule = bounds_for([np.zeros(3, np.float32)], [np.zeros(4)], Tolerance())
    assert rule.startswith("static (the float64 run's outputs")
    # A "float64" run that quietly computed in float32 has no floor to offer.
    _, rule = bounds_for([np.ones(3, np.float32)], [np.ones(3, np.float32)], Tolerance())
    assert rule == "static (the float64 run computed in float32)"


def test_a_calibrated_failure_says_how_many_floors_away_it_is() -> None:
    ref = np.linspace(-1, 1, 10, dtype=np.float32)
    bound = Bound.calibrated(1e-7)
    comparison = compare_outputs(
        [ref], [ref + np.float32(1e-3)], expected_names=["y"], candidate_names=["y"], tolerance=[bound]
    )
    assert not comparison.ok
    assert "float32 floor 1e-07" in comparison.message and "x the floor" in comparison.message


def test_an_output_float64_cannot_line_up_keeps_the_static_rule_and_the_others_their_floors() -> None:
    # A detector: float64 kept one box more than float32; its dense head map still has a floor.
    boxes32, boxes64 = np.zeros((0, 4), np.float32), np.zeros((1, 4))
    head64 = np.linspace(-1, 1, 12).reshape(3, 4)
    head32 = (head64 + 1e-7).astype(np.float32)
    tolerance = Tolerance(atol=1e-4, rtol=1e-3)
    (boxes, head), rule = bounds_for([boxes32, head32], [boxes64, head64], tolerance)
    assert boxes == Bound.static(tolerance) and head.floor is not None and head.atol < 1e-4
    assert rule.startswith("calibrated") and "static for output 0 (the float64 run's shape differs)" in rule
