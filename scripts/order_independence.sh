#!/usr/bin/env bash
# Order independence of the default profile's torch-export cases (ort path): every case in one
# pytest process, then one pytest process per model and exporter, each from a cold cache of its
# own; prints the cases whose status, stage or message differ (there should be none).
# Usage: scripts/order_independence.sh [OUT_DIR]   (about 15 min on 2 cores; run from the repo root)
#        MODELS="mlp gru" scripts/order_independence.sh   (only these torch models)
set -euo pipefail
OUT=${1:-/tmp/zoo-order-independence}
PY=${PYTHON:-.venv/bin/python}
rm -rf "$OUT" && mkdir -p "$OUT"
run() {  # run NAME [pytest args...]: one pytest process with a cold cache of its own
  local name=$1; shift
  "$PY" -m pytest suite/matrix --zoo-paths ort --zoo-cache-dir "$OUT/cache-$name" \
    --zoo-report-dir "$OUT/$name" --zoo-history none -q -p no:cacheprovider "$@" > "$OUT/$name.log" 2>&1 || true
  rm -rf "$OUT/cache-$name"
}
models=${MODELS:-$("$PY" -c "from zoo import registry; registry.load_builtin()
print(' '.join(s.name for s in registry.select(('*',), ()) if s.framework == 'torch'))")}
run together --zoo-exporters torchscript,dynamo --zoo-models "${models// /,}"
for model in $models; do
  for exporter in torchscript dynamo; do
    run "alone-$model-$exporter" --zoo-models "$model" --zoo-exporters "$exporter"
  done
done
"$PY" - "$OUT" <<'PY'
import glob, sys
import pandas as pd
out = sys.argv[1]
together = pd.read_csv(glob.glob(f"{out}/together/runs/*/results.csv")[0]).set_index("case_id")
alone = pd.concat(pd.read_csv(f) for f in glob.glob(f"{out}/alone-*/runs/*/results.csv")).set_index("case_id")
print(f"{len(together)} cases together, {len(alone)} alone; missing alone: {sorted(set(together.index) - set(alone.index))}")
for column in ("status", "stage", "message"):
    differ = [c for c in together.index if c in alone.index and str(together.at[c, column]) != str(alone.at[c, column])]
    print(f"{column} differences: {len(differ)}", *differ[:20], sep="\n  ")
PY
