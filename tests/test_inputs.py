import numpy as np

from suite.judge.inputs import export_dims, make_inputs
from zoo import InputSpec, ModelSpec

SPEC = ModelSpec(
    "m",
    lambda: None,
    (InputSpec("ids", ("batch", "seq"), dtype="int64", low=3, high=9), InputSpec("x", ("batch", "seq", 4))),
    dims={"batch": 1, "seq": 6},
    other_dims=({"batch": 2, "seq": 5}, {"batch": 5, "seq": 2}),
)


def test_inputs_are_seeded_shaped_and_bounded() -> None:
    first, again = make_inputs(SPEC), make_inputs(SPEC)
    assert first["ids"].shape == (1, 6) and first["x"].shape == (1, 6, 4)
    assert first["ids"].dtype == np.int64 and first["x"].dtype == np.float32
    assert first["ids"].min() >= 3 and first["ids"].max() < 9
    np.testing.assert_array_equal(first["x"], again["x"])


def test_swapped_sizes_get_different_data() -> None:
    a = make_inputs(SPEC, {"batch": 2, "seq": 5})["x"].ravel()
    b = make_inputs(SPEC, {"batch": 5, "seq": 2})["x"].ravel()
    assert not np.allclose(a, b)


def test_dynamic_exports_avoid_size_one_examples() -> None:
    assert export_dims(SPEC, dynamic=False) == {"batch": 1, "seq": 6}
    # torch.export would specialize batch=1 into a constant; the first all->=2 set is used.
    assert export_dims(SPEC, dynamic=True) == {"batch": 2, "seq": 5}
