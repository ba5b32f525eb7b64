"""Write a seeded ONNX-ML sample folder: scikit-learn models on its bundled data sets, converted by skl2onnx.

Usage: python scripts/make_onnxml_zoo.py OUT_DIR

Same layout as scripts/make_value_zoo.py (OUT_DIR/<entry>/model.onnx, test_data_set_0/input_K.pb, output_K.pb).
The models, each trained on the data set less ROWS held-out rows, which make its data set:

- iris_logreg_zipmap: LogisticRegression with string labels; probabilities through ZipMap (seq(map(string, float)));
- iris_logreg_nozipmap: the same model converted with zipmap False (probabilities a float [N, 3] tensor);
- diabetes_ridge: a Ridge regressor ([N, 1] float out);
- digits_random_forest: a RandomForestClassifier (TreeEnsembleClassifier; int64 labels, seq(map(int64, float)));
- diabetes_gradient_boosting: a GradientBoostingRegressor (TreeEnsembleRegressor);
- diabetes_pipeline: a ColumnTransformer one-hot encoding a string column and scaling float columns, then Ridge:
  two graph inputs, one of them a string tensor.

Stored outputs are scikit-learn's own predict / predict_proba, cast to the ONNX outputs' types (labels int64 or
string, probabilities float32, ZipMap's as one {label: probability} map per row): never onnxruntime's. Nothing is
downloaded (load_iris, load_digits and load_diabetes ship with scikit-learn). Output bytes are the same on every run.
"""

import importlib.util
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import numpy as np
import onnx
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, load_digits, load_iris
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

ROWS = 8  # held-out rows per data set: the test slice
SEED = 0
# An upper bound: skl2onnx writes the lowest opsets its converters need (9 and ai.onnx.ml 1 for a linear model).
TARGET_OPSET = {"": 18, "ai.onnx.ml": 3}
ENTRIES: tuple[str, ...] = (
    "iris_logreg_zipmap",
    "iris_logreg_nozipmap",
    "diabetes_ridge",
    "digits_random_forest",
    "diabetes_gradient_boosting",
    "diabetes_pipeline",
)


def _value_zoo() -> ModuleType:
    """scripts/make_value_zoo.py, for its Entry, write_entry and checks (scripts/ is no package to import from)."""
    spec = importlib.util.spec_from_file_location("make_value_zoo", Path(__file__).with_name("make_value_zoo.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


VALUE_ZOO = _value_zoo()
Entry = VALUE_ZOO.Entry


def _split(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, test rows): ROWS seeded rows held out of n."""
    order = np.random.default_rng(SEED).permutation(n)
    return np.sort(order[ROWS:]), np.sort(order[:ROWS])


def _convert(
    name: str, model: BaseEstimator, inputs: list[tuple[str, object]], options: dict | None = None
) -> onnx.ModelProto:
    onx = convert_sklearn(model, initial_types=inputs, target_opset=TARGET_OPSET, options=options)
    # skl2onnx names the graph with a fresh uuid, and lists its opset imports in no fixed order: both
    # are fixed here, so the bytes are the same on every run.
    onx.graph.name = name
    imports = sorted((o.domain, o.version) for o in onx.opset_import)
    del onx.opset_import[:]
    onx.opset_import.extend(onnx.helper.make_opsetid(domain, version) for domain, version in imports)
    return onx


def _labels(values: np.ndarray) -> np.ndarray:
    """predict's labels as ONNX has them: int64, or str in an object array (numpy's '<U' is no ONNX type)."""
    if values.dtype.kind in "iu":
        return values.astype(np.int64)
    return np.array([str(v) for v in values], dtype=object)


def _zipped(classes: np.ndarray, probabilities: np.ndarray) -> list[dict]:
    """What ZipMap holds: per row {label: probability}, each probability a 0-d float32 tensor."""
    keys = [int(c) if np.asarray(classes).dtype.kind in "iu" else str(c) for c in classes]
    return [{k: np.array(p, np.float32) for k, p in zip(keys, row, strict=True)} for row in probabilities]


def _classifier_outputs(clf: BaseEstimator, x: np.ndarray, zipmap: bool) -> list:
    probabilities = clf.predict_proba(x)
    stored = _zipped(clf.classes_, probabilities) if zipmap else probabilities.astype(np.float32)
    return [_labels(clf.predict(x)), stored]


def _regressor_outputs(reg: BaseEstimator, x: np.ndarray) -> list:
    return [reg.predict(x).astype(np.float32).reshape(-1, 1)]  # skl2onnx's 'variable' is [N, 1]


# --------------------------------------------------------------------------------------------------- entries


def build_iris() -> list[Entry]:
    data = load_iris()
    x, y = data.data.astype(np.float32), data.target_names[data.target]  # string labels
    train, test = _split(len(x))
    clf = LogisticRegression(max_iter=1000).fit(x[train], y[train])
    inputs = [("input", FloatTensorType([None, x.shape[1]]))]
    zipmap = _convert("iris_logreg_zipmap", clf, inputs)
    plain = _convert("iris_logreg_nozipmap", clf, inputs, options={id(clf): {"zipmap": False}})
    return [
        Entry("iris_logreg_zipmap", "onnx-ml", zipmap, [x[test]], _classifier_outputs(clf, x[test], True),
              "LogisticRegression, string labels, ZipMap: seq(map(string, float))"),
        Entry("iris_logreg_nozipmap", "onnx-ml", plain, [x[test]], _classifier_outputs(clf, x[test], False),
              "the same model, zipmap False: float [N, 3]"),
    ]  # fmt: skip


def build_diabetes_regressors() -> list[Entry]:
    x, y = load_diabetes(return_X_y=True)
    x = x.astype(np.float32)
    train, test = _split(len(x))
    inputs = [("input", FloatTensorType([None, x.shape[1]]))]
    ridge = Ridge(alpha=0.1).fit(x[train], y[train])
    boosted = GradientBoostingRegressor(n_estimators=30, max_depth=3, random_state=SEED).fit(x[train], y[train])
    ridge_model = _convert("diabetes_ridge", ridge, inputs)
    boosted_model = _convert("diabetes_gradient_boosting", boosted, inputs)
    note = "GradientBoostingRegressor, 30 trees: TreeEnsembleRegressor"
    return [
        Entry("diabetes_ridge", "onnx-ml", ridge_model, [x[test]], _regressor_outputs(ridge, x[test]), "Ridge"),
        Entry(
            "diabetes_gradient_boosting",
            "onnx-ml",
            boosted_model,
            [x[test]],
            _regressor_outputs(boosted, x[test]),
            note,
        ),
    ]


def build_digits_forest() -> Entry:
    x, y = load_digits(return_X_y=True)
    x = x.astype(np.float32)
    train, test = _split(len(x))
    forest = RandomForestClassifier(n_estimators=10, max_depth=8, random_state=SEED).fit(x[train], y[train])
    model = _convert("digits_random_forest", forest, [("input", FloatTensorType([None, x.shape[1]]))])
    outputs = _classifier_outputs(forest, x[test], True)
    note = "RandomForestClassifier, 10 trees: TreeEnsembleClassifier, int64 labels, seq(map(int64, float))"
    return Entry("digits_random_forest", "onnx-ml", model, [x[test]], outputs, note)


def build_pipeline() -> Entry:
    """A string column one-hot encoded beside scaled float columns: two graph inputs, one a string tensor."""
    data = load_diabetes()
    # The data set's sex column is standardized to two values: as strings it is a category column.
    sex = np.where(data.data[:, 1] > 0, "sex_2", "sex_1").astype(object).reshape(-1, 1)
    numeric = data.data[:, [0, 2, 3]].astype(np.float32)  # age, bmi, blood pressure
    train, test = _split(len(sex))
    # scikit-learn sees one object array; skl2onnx maps its column 0 to input 'sex' and 1..3 to 'numeric'.
    table = np.concatenate([sex, numeric.astype(object)], axis=1)
    columns = ColumnTransformer([("category", OneHotEncoder(), [0]), ("numeric", StandardScaler(), [1, 2, 3])])
    pipeline = Pipeline([("columns", columns), ("ridge", Ridge(alpha=0.1))]).fit(table[train], data.target[train])
    inputs = [("sex", StringTensorType([None, 1])), ("numeric", FloatTensorType([None, 3]))]
    model = _convert("diabetes_pipeline", pipeline, inputs)
    outputs = _regressor_outputs(pipeline, table[test])
    note = "ColumnTransformer(OneHotEncoder on a string input, StandardScaler on a float input) + Ridge"
    return Entry("diabetes_pipeline", "onnx-ml", model, [sex[test], numeric[test]], outputs, note)


# --------------------------------------------------------------------------------------------------- main


def build_all() -> list[Entry]:
    builders: list[Callable[[], list[Entry]]] = [
        build_iris,
        build_diabetes_regressors,
        lambda: [build_digits_forest()],
        lambda: [build_pipeline()],
    ]
    entries = [entry for build in builders for entry in build()]
    order = {name: k for k, name in enumerate(ENTRIES)}
    if sorted(order) != sorted(e.name for e in entries):
        raise RuntimeError("ENTRIES and the builders disagree")
    return sorted(entries, key=lambda e: order[e.name])


def make_onnxml_zoo(out_dir: Path) -> list[Path]:
    """Train, convert, validate and write every entry; return the folders written."""
    return VALUE_ZOO.write_all(build_all(), out_dir)


def main(argv: Sequence[str] | None = None) -> int:
    return VALUE_ZOO.cli(make_onnxml_zoo, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
