#!/usr/bin/env bash
# Latency of three zoo models on the CUDA and TensorRT execution providers, through the suite,
# in the onnxruntime-gpu environment (tox -e gpu). Rows and pytest-benchmark's JSON land in
# $OUT (a device machine's result folder) or reports/gpu.
#
# On a machine without CUDA / TensorRT libraries every CUDA and TensorRT row is a `fallback`
# row naming the library onnxruntime could not load; the CPU rows are the comparison.
#
#   scripts/gpu_latency.sh                      # resnet18, bert_tiny, mobilenet_v3_small
#   MODELS=mlp,gru scripts/gpu_latency.sh
set -euo pipefail
cd "$(dirname "$0")/.."
MODELS=${MODELS:-resnet18,bert_tiny,mobilenet_v3_small}
REPORTS=${OUT:-reports/gpu}
PROVIDERS=${PROVIDERS:-"cuda,tensorrt,tensorrt[trt_fp16_enable=True],cpu"}

make .venv/.installed >/dev/null            # the dev venv brings tox
status=0
.venv/bin/tox -e gpu -- --zoo-paths latency --zoo-models "$MODELS" --zoo-providers "$PROVIDERS" \
    --zoo-report-dir "$REPORTS" --zoo-cache-dir "${ZOO_CACHE:-reports/cache}" -q || status=$?
# pytest exits 1 when some rows fail (fallback rows do): the rows are the result.
if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then
    echo "gpu latency run broke (exit $status)" >&2
    exit "$status"
fi
echo "rows: $REPORTS/latest/latency.csv"
