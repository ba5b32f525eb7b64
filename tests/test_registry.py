import pytest

from zoo import InputSpec, ModelSpec, Task, registry


@pytest.fixture
def empty_registry(monkeypatch: pytest.MonkeyPatch) -> dict:
    fresh: dict = {}
    monkeypatch.setattr(registry, "_REGISTRY", fresh)
    return fresh


def _register(name: str) -> None:
    @registry.register_model(name=name, inputs=[InputSpec("x", (1, 3))])
    def build():  # pragma: no cover - never built here
        raise AssertionError


def test_decorator_registers_with_defaults(empty_registry: dict) -> None:
    @registry.register_model(
        inputs=[InputSpec("x", ("batch", 3))], dims={"batch": 1}, other_dims=[{"batch": 2}, {"batch": 5}]
    )
    def tiny():  # pragma: no cover
        return None

    spec = registry.get("tiny")
    assert spec.builder is tiny
    assert spec.family == "test_registry"
    assert spec.has_dynamic_dims
    assert spec.inputs[0].dynamic_dims == {0: "batch"}


def test_duplicate_names_are_rejected(empty_registry: dict) -> None:
    _register("twin")
    with pytest.raises(registry.DuplicateModelError, match="registered twice"):
        _register("twin")


def test_select_by_include_and_exclude_globs(empty_registry: dict) -> None:
    for name in ("resnet18", "resnet50", "mobilenet_v3_small", "bert_tiny"):
        _register(name)
    assert [s.name for s in registry.select(["resnet*"])] == ["resnet18", "resnet50"]
    assert [s.name for s in registry.select(["*"], ["resnet5*", "bert*"])] == ["mobilenet_v3_small", "resnet18"]


def test_unknown_glob_lists_close_names(empty_registry: dict) -> None:
    for name in ("resnet18", "resnet50", "gpt2_tiny"):
        _register(name)
    with pytest.raises(registry.UnknownModelError) as info:
        registry.select(["resnt18"])
    message = str(info.value)
    assert "no zoo model matches 'resnt18'" in message
    assert "resnet18" in message and "gpt2_tiny" not in message
    assert "\n" not in message


def test_spec_requires_sizes_for_dynamic_dims() -> None:
    with pytest.raises(ValueError, match="no default size"):
        ModelSpec("m", lambda: None, (InputSpec("x", ("batch", 3)),))
    with pytest.raises(ValueError, match="at least two other size sets"):
        ModelSpec("m", lambda: None, (InputSpec("x", ("batch", 3)),), dims={"batch": 1}, other_dims=({"batch": 2},))
    with pytest.raises(ValueError, match="must size exactly"):
        ModelSpec(
            "m",
            lambda: None,
            (InputSpec("x", ("batch", 3)),),
            dims={"batch": 1},
            other_dims=({"batch": 2}, {"seq": 4}),
        )


def test_builtin_zoo_covers_the_families() -> None:
    registry.load_builtin()
    specs = registry.all_models()
    names = {s.name for s in specs}
    assert len(specs) >= 12
    assert {"mlp", "resnet18", "mobilenet_v3_small"} <= names
    tasks = {s.task for s in specs}
    assert {Task.CLASSIFICATION, Task.SEQUENCE, Task.EMBEDDING, Task.DETECTION, Task.SEGMENTATION} <= tasks
    for spec in specs:
        if spec.has_dynamic_dims:
            assert len(spec.other_dims) >= 2, spec.name


def test_user_module_from_file_registers_models(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_REGISTRY", {})
    module = tmp_path / "my_models.py"
    module.write_text(
        "from zoo import InputSpec, register_model\n"
        "@register_model(inputs=[InputSpec('x', (1, 4))])\n"
        "def my_private_model():\n"
        "    raise AssertionError\n"
    )
    registry.load_modules([str(module)])
    assert registry.get("my_private_model").source.startswith("zoo_user_")
