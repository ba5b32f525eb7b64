#!/usr/bin/env bash
# The GPU latency check with an interpreter that already has torch (CUDA build) and, or from
# local wheels, onnxruntime-gpu: for a GPU machine that reaches no package registry.
#
#   PYTHON=/opt/torch/.venv/bin/python3 WHEELS=/path/to/wheels scripts/gpu_offline.sh
#
# WHEELS (optional): a folder of wheels (onnxruntime-gpu, pytest-benchmark 5.3 ...) installed
# with pip --target into $SITE and put first on PYTHONPATH, ahead of the image's packages.
# python -m suite.cli.gpu_setup checks the setup first and names every missing piece; the CUDA
# and cuDNN libraries come from the nvidia-* pip packages, put on LD_LIBRARY_PATH for the run.
# Rows land in $OUT (a device machine's result folder) or reports/gpu; no history database.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
SITE=${SITE:-/tmp/zoo-gpu-site}
MODELS=${MODELS:-resnet18,efficientnet_b0,mobilenet_v3_small,bert_tiny}
PROVIDERS=${PROVIDERS:-"cuda,tensorrt,cpu"}
REPORTS=${OUT:-reports/gpu}

if [ -n "${WHEELS:-}" ]; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "$WHEELS"/*.whl
    export PYTHONPATH="$PWD:$SITE${PYTHONPATH:+:$PYTHONPATH}"
else
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
"$PYTHON" -m suite.cli.gpu_setup
eval "$("$PYTHON" -m suite.cli.gpu_setup --print-env)"
status=0
"$PYTHON" -m pytest suite/matrix -p no:cacheprovider --rootdir "$PWD" --zoo-paths latency --zoo-models "$MODELS" \
    --zoo-providers "$PROVIDERS" --zoo-history none --zoo-report-dir "$REPORTS" -q "$@" || status=$?
# pytest exits 1 when some rows fail (fallback rows do): the rows are the result.
if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then
    echo "gpu latency run broke (exit $status)" >&2
    exit "$status"
fi
echo "rows: $REPORTS/latest/latency.csv"
