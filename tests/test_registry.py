import pytest

from zoo import InputSpec, ModelRegistry, ModelSpec, Task, registry
from zoo.registry import model_spec


def _spec(name: str) -> ModelSpec:
    def build():  # pragma: no cover - never built here
        raise AssertionError

    return model_spec(build, name=name, inputs=[InputSpec("x", (1, 3))])


@registry.register_model(
    inputs=[InputSpec("x", ("batch", 3))], dims={"batch": 1}, other_dims=[{"batch": 2}, {"batch": 5}]
)
def tiny():  # pragma: no cover
    return None


def test_the_decorator_declares_a_model_that_a_registry_loads_with_its_module() -> None:
    models = ModelRegistry()
    with pytest.raises(registry.UnknownModelError):
        models.get("tiny")  # declared, but this registry has not loaded the module
    spec = models.load_modules([__name__]).get("tiny")
    assert spec.builder is tiny
    assert spec.family == "test_registry"
    assert spec.has_dynamic_dims
    assert spec.inputs[0].dynamic_dims == {0: "batch"}
    assert models.load_modules([__name__]).get("tiny") is spec  # loading a module again adds nothing new


def test_duplicate_names_are_rejected() -> None:
    models = ModelRegistry([_spec("twin")])
    with pytest.raises(registry.DuplicateModelError, match="registered twice"):
        models.add(_spec("twin"))


def test_select_by_include_and_exclude_globs() -> None:
    models = ModelRegistry(_spec(name) for name in ("resnet18", "resnet50", "mobilenet_v3_small", "bert_tiny"))
    assert [s.name for s in models.select(["resnet*"])] == ["resnet18", "resnet50"]
    assert [s.name for s in models.select(["*"], ["resnet5*", "bert*"])] == ["mobilenet_v3_small", "resnet18"]


def test_unknown_glob_lists_close_names() -> None:
    models = ModelRegistry(_spec(name) for name in ("resnet18", "resnet50", "gpt2_tiny"))
    with pytest.raises(registry.UnknownModelError) as info:
        models.select(["resnt18"])
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
    specs = ModelRegistry().load_builtin().all_models()
    names = {s.name for s in specs}
    assert len(specs) >= 12
    assert {"mlp", "resnet18", "mobilenet_v3_small"} <= names
    tasks = {s.task for s in specs}
    assert {Task.CLASSIFICATION, Task.SEQUENCE, Task.EMBEDDING, Task.DETECTION, Task.SEGMENTATION} <= tasks
    for spec in specs:
        if spec.has_dynamic_dims:
            assert len(spec.other_dims) >= 2, spec.name


def test_user_module_from_file_registers_models(tmp_path) -> None:
    module = tmp_path / "my_models.py"
    module.write_text(
        "from zoo import InputSpec, register_model\n"
        "@register_model(inputs=[InputSpec('x', (1, 4))])\n"
        "def my_private_model():\n"
        "    raise AssertionError\n"
    )
    models = ModelRegistry().load_modules([str(module)])
    assert models.get("my_private_model").source.startswith("zoo_user_")
    assert [s.name for s in models.all_models()] == ["my_private_model"]  # the built-in zoo is not loaded
