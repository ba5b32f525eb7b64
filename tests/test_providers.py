"""--zoo-providers parsing and the runtime inventory rows carry."""

import pytest

from suite.runtime.providers import ProviderRequest, ProviderSelectionError, parse_providers, runtime_inventory

OFFERED = ("OpenVINOExecutionProvider", "CPUExecutionProvider", "AzureExecutionProvider")


def test_available_means_every_local_provider_offered() -> None:
    names = [p.name for p in parse_providers("available", OFFERED)]
    assert names == ["OpenVINOExecutionProvider", "CPUExecutionProvider"]


def test_aliases_and_provider_options_become_labels() -> None:
    requests = parse_providers("cpu, openvino[device_type=CPU, num_of_threads=2],CPUExecutionProvider", OFFERED)
    assert requests == (
        ProviderRequest("CPUExecutionProvider"),
        ProviderRequest("OpenVINOExecutionProvider", (("device_type", "CPU"), ("num_of_threads", "2"))),
    )
    assert [r.label for r in requests] == ["cpu", "openvino+device_type:CPU+num_of_threads:2"]
    assert requests[1].option_dict() == {"device_type": "CPU", "num_of_threads": "2"}


def test_a_provider_this_build_lacks_is_refused_with_what_to_install() -> None:
    with pytest.raises(
        ProviderSelectionError,
        match=r"CUDAExecutionProvider is not offered by onnxruntime here.*"
        r"onnxruntime-gpu \(tox -e gpu\)",
    ):
        parse_providers("cpu,cuda", OFFERED)


@pytest.mark.parametrize("value", ["openvino[device_type]", "cpu;;", "openvino[=CPU]"])
def test_unreadable_values_are_refused(value: str) -> None:
    with pytest.raises(ProviderSelectionError):
        parse_providers(value, OFFERED)


def test_inventory_names_the_installed_package() -> None:
    import onnxruntime as ort

    inventory = runtime_inventory()
    assert inventory["ort_package"].startswith("onnxruntime")
    assert inventory["ort_version"] == ort.__version__
    assert "CPUExecutionProvider" in inventory["ort_providers"].split(",")
