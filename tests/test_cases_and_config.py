import pytest

from suite.paths import ort, tf, version
from suite.run.cases import Case, Draw
from suite.selection.profiles import SelectionError, make_selection, newest_dynamo_opset, parse_opsets
from zoo import InputSpec, ModelSpec


def _spec(name: str, dynamic: bool) -> ModelSpec:
    if dynamic:
        return ModelSpec(
            name, lambda: None, (InputSpec("x", ("batch", 3)),), {"batch": 1}, ({"batch": 2}, {"batch": 3})
        )
    return ModelSpec(name, lambda: None, (InputSpec("x", (1, 3)),))


def test_case_id_is_lowercase_and_hyphenated() -> None:
    case = Case("ResNet18", "dynamo", 18, "dynamic", "ort", "ort_cpu")
    assert case.case_id == "resnet18-dynamo-op18-dynamic-ort_cpu"


def test_matrix_skips_dynamic_cases_for_static_models() -> None:
    cases = ort.draw_cases(
        Draw(
            [_spec("a", dynamic=True), _spec("b", dynamic=False)],
            {"torchscript": (13, 17), "dynamo": (18,)},
            ("static", "dynamic"),
        )
    )
    ids = [c.case_id for c in cases]
    assert len(ids) == len(set(ids)) == 6 + 3
    assert "b-torchscript-op13-dynamic-ort_cpu" not in ids
    assert ids[0].startswith("a-") and ids[-1].startswith("b-")  # grouped by model


def test_converter_paths_take_one_shape_per_model() -> None:
    specs = [_spec("a", dynamic=True), _spec("b", dynamic=False)]
    cases = tf.draw_cases(Draw(specs, {"torchscript": (17,)}, ("static", "dynamic")))
    assert [c.case_id for c in cases] == [
        "a-torchscript-op17-dynamic-tf_roundtrip",
        "b-torchscript-op17-static-tf_roundtrip",
    ]
    static_only = version.draw_cases(Draw(specs, {"torchscript": (17,)}, ("static",)))
    assert [c.shape for c in static_only] == ["static", "static"]
    assert {(c.path, c.label) for c in static_only} == {("version", "version")}


def test_exporters_meet_only_models_of_their_framework() -> None:
    keras = ModelSpec("k", lambda: None, (InputSpec("x", (1, 3)),), framework="keras")
    cases = ort.draw_cases(
        Draw([_spec("t", dynamic=False), keras], {"torchscript": (17,), "tf2onnx": (13,)}, ("static",))
    )
    assert [c.case_id for c in cases] == ["t-torchscript-op17-static-ort_cpu", "k-tf2onnx-op13-static-ort_cpu"]


def test_default_profile_has_three_plus_opsets_and_both_exporters() -> None:
    selection = make_selection("default")
    assert selection.opsets["torchscript"] == (11, 13, 15, 17)
    assert selection.opsets["dynamo"] == tuple(sorted({18, newest_dynamo_opset()}))
    assert selection.shapes == ("static", "dynamic")


def test_option_overrides() -> None:
    selection = make_selection("default", models="mlp,resnet*", exporters="dynamo", opsets="20", shapes="static")
    assert selection.models == ("mlp", "resnet*")
    assert selection.opsets == {"dynamo": (20,)}
    assert parse_opsets("torchscript:11,13;dynamo:18", ("torchscript", "dynamo")) == {
        "torchscript": (11, 13),
        "dynamo": (18,),
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"profile": "nightly"}, "unknown --zoo-profile 'nightly'"),
        ({"profile": "default", "exporters": "onnx2tf"}, "unknown exporter 'onnx2tf'"),
        ({"profile": "default", "shapes": "ragged"}, "unknown shape mode 'ragged'"),
        ({"profile": "default", "opsets": "eleven"}, "opsets must be integers"),
    ],
)
def test_bad_options_name_the_choices(kwargs: dict, message: str) -> None:
    with pytest.raises(SelectionError, match=message):
        make_selection(**kwargs)


def test_the_ort_path_gets_one_case_per_other_provider_next_to_its_cpu_case() -> None:
    from suite.run.cases import CPU
    from suite.runtime.providers import ProviderRequest

    openvino = ProviderRequest("OpenVINOExecutionProvider", (("device_type", "CPU"),))
    specs = [_spec("m", dynamic=False), _spec("n", dynamic=False)]
    base = ort.draw_cases(Draw(specs, {"torchscript": (17,)}, ("static",)))
    cases = ort.draw_cases(Draw(specs, {"torchscript": (17,)}, ("static",), providers=(CPU, openvino)))
    assert [c.case_id for c in cases] == [
        "m-torchscript-op17-static-ort_cpu",
        "m-torchscript-op17-static-ort_openvino+device_type:cpu",
        "n-torchscript-op17-static-ort_cpu",
        "n-torchscript-op17-static-ort_openvino+device_type:cpu",
    ]
    assert cases[1].provider == openvino and cases[0].provider == CPU
    assert {c.path for c in cases} == {"ort"}
    assert [c for c in cases if c.provider == CPU] == base  # no other provider: the ort path is unchanged


def test_onnx_folders_bring_their_own_exporter_from_options_and_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    from suite.selection import profiles as config

    selection = make_selection("quick", onnx_dirs=["/zoo/a"])
    assert selection.onnx_dirs == ("/zoo/a",) and selection.opsets["onnx"] == ()
    assert "onnx (each file's own opset)" in selection.describe()
    assert "onnx" not in make_selection("quick", onnx_dirs=["/zoo/a"], exporters="dynamo").opsets
    assert make_selection("quick", onnx_dirs=["/zoo/a"], opsets="torchscript:13").opsets["onnx"] == ()
    with_folder = config.Profile("mine", onnx_dirs=("/zoo/b",), opsets={"torchscript": (17,)})
    monkeypatch.setattr(config, "profiles", lambda: {"mine": with_folder})
    assert make_selection("mine", onnx_dirs=["/zoo/a"]).onnx_dirs == ("/zoo/b", "/zoo/a")
    assert set(make_selection("mine").opsets) == {"torchscript", "onnx"}


def test_an_onnx_file_is_drawn_once_at_its_own_opset() -> None:
    from pathlib import Path

    from zoo.spec import FileSource

    file = FileSource(Path("m.onnx"), Path("."), opset=7)
    spec = ModelSpec("old", lambda: None, (InputSpec("x", (1, 4)),), framework="onnx", file_source=file)
    draw = Draw([spec], {"torchscript": (17,), "onnx": ()}, ("static", "dynamic"))
    assert [c.case_id for c in ort.draw_cases(draw)] == ["old-onnx-op7-static-ort_cpu"]
    assert [c.case_id for c in version.draw_cases(draw)] == ["old-onnx-op7-static-version"]
    assert ort.draw_cases(Draw([spec], {"torchscript": (17,)}, ("static",))) == []


def test_triage_is_capped_per_profile_unless_the_option_says() -> None:
    """The corpus's usual night has some 70 red cases (one of its 2 processes went past the default
    profile's 40, leaving 5 rows "not triaged"): its profile triages up to 200 a process."""
    from suite.plugin.settings import _triage_limit

    assert (_triage_limit(None, "default"), _triage_limit(None, "corpus")) == (40, 200)
    assert (_triage_limit(-1, "corpus"), _triage_limit(0, "corpus"), _triage_limit(7, "default")) == (None, 0, 7)
