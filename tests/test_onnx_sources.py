"""A folder in the ONNX Model Zoo layout becomes zoo entries: names, families, opsets, data sets, problems."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from suite.judge.inputs import make_inputs
from suite.onnx_files.safe_read import Limits
from suite.onnx_files.sources import OnnxDirError, parse_dims, specs_from_dirs, stored_data

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sample_zoo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's sample folder (scripts/make_onnx_zoo.py: 12 models, 4 families, opsets 7 to 21)."""
    out = tmp_path_factory.mktemp("onnx-zoo")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_onnx_zoo.py"), str(out)], check=True, timeout=300)
    return out


def test_every_entry_of_the_layout_is_found_with_its_family_opset_and_data_sets(
    sample_zoo: Path, tmp_path: Path
) -> None:
    specs = {s.name: s for s in specs_from_dirs([str(sample_zoo)], {"batch": 2}, Limits(), tmp_path / "unpacked")}
    assert len(specs) == 12 and not [s.name for s in specs.values() if s.file_source.problem]
    assert {s.family for s in specs.values()} == {"tabular", "vision", "sequence", "text"}
    opsets = {s.file_source.opset for s in specs.values()}
    assert min(opsets) <= 9 and max(opsets) == 21
    assert specs["gemm_ir3"].file_source.ir_version == 3
    assert [i.name for i in specs["gemm_ir3"].inputs] == ["x"]  # initializers listed as inputs are not fed
    assert specs["lstm_op15"].file_source.model.is_relative_to(tmp_path / "unpacked")  # from the .tar.gz
    assert len(specs["mlp_op9"].file_source.data_sets) == 3
    bare = specs["convnet_dynamic"]
    assert not bare.file_source.data_sets and bare.feeds is None
    assert make_inputs(bare)["image"].shape == (2, 3, 16, 16)  # the named dim at the size given
    encoder = specs["encoder_op17"]
    assert make_inputs(encoder, draw=1)["token_ids"].dtype == np.int64  # draw 1 is test_data_set_1
    stored = stored_data(encoder.file_source, encoder.input_names(), 1, Limits())
    np.testing.assert_array_equal(make_inputs(encoder, draw=3)["token_ids"], dict(stored.inputs)["token_ids"])


def test_a_dim_without_a_size_and_a_corrupt_file_are_problems_of_their_entry(sample_zoo: Path, tmp_path: Path) -> None:
    corrupt = tmp_path / "zoo" / "broken"
    corrupt.mkdir(parents=True)
    (corrupt / "cut.onnx").write_bytes((sample_zoo / "vision" / "convnet_dynamic.onnx").read_bytes()[:100])
    (corrupt / "convnet_dynamic.onnx").write_bytes((sample_zoo / "vision" / "convnet_dynamic.onnx").read_bytes())
    specs = {s.name: s for s in specs_from_dirs([str(tmp_path / "zoo")], {}, Limits(), tmp_path / "unpacked")}
    assert "not a valid ONNX model" in specs["cut"].file_source.problem and specs["cut"].file_source.opset == 0
    assert specs["convnet_dynamic"].file_source.problem == (
        "input 'image' dim 0 is named 'batch' and no size was given; give --zoo-onnx-dims batch=N"
    )


def test_names_stay_unique_across_folders_and_the_zoo(sample_zoo: Path, tmp_path: Path) -> None:
    specs = specs_from_dirs(
        [str(sample_zoo / "vision"), str(sample_zoo / "vision")], {"batch": 1}, Limits(), tmp_path, taken=["conv_ir3"]
    )
    names = [s.name for s in specs]
    assert len(names) == len(set(names)) == 10
    assert "vision_conv_ir3" in names and "convnet_op11_2" not in names and "vision_convnet_op11" in names


@pytest.mark.parametrize("value", ["batch", "batch=0", "=3", "batch=x"])
def test_bad_dim_sizes_are_refused(value: str) -> None:
    with pytest.raises(OnnxDirError, match="NAME=SIZE"):
        parse_dims(value)
    assert parse_dims("batch=2, seq=16") == {"batch": 2, "seq": 16}
