#!/usr/bin/env bash
# One call on a lent GPU box, inside a fixed budget of seconds: what the box is, the CUDA tests,
# the CUDA benchmarks (the layer and networks; the training loop against its bare step), the cost
# estimate, then as much of `tvseg gpu-run` as the budget leaves (seed by seed, each evaluation
# right after its training; JOBS of them at once on the device), and the results packed for the
# trip back. With the estimate at hand, gpu-run starts only the seeds the estimate says finish
# within the budget left, so a call cut at its limit leaves whole seeds; the rest wait for the
# next call (the same command: finished jobs are skipped).
#
#   BUNDLE=<bundle folder> OUT=<folder to bring back> BUDGET=570 [JOBS=2] [SKIP="bench_cuda estimate"] \
#       bash scripts/gpu_session.sh
#
# SKIP names steps not to run (measured already, say), to leave their time to gpu-run.
# Each step runs under its own time limit and a failing step does not stop the next; every log
# lands in $OUT. Models and checkpoints stay behind (too large to bring back); results/<profile>
# comes back as $OUT/results.tgz (evaluations, training logs, panels, gpu-run.json).
set -u
start=$(date +%s)
BUDGET=${BUDGET:-570} DEVICE=${DEVICE:-cuda} WORK=${WORK:-/tmp/tvseg-gpu-run} SKIP=${SKIP:-} JOBS=${JOBS:-1}
ESTIMATE_ITERATIONS=${ESTIMATE_ITERATIONS:-8} BENCH_REPEATS=${BENCH_REPEATS:-5}
: "${BUNDLE:?name the bundle folder}" "${OUT:?name the folder to bring back}"
mkdir -p "$OUT"
left() { echo $((BUDGET - ($(date +%s) - start))); }
step() { # name limit command...: run with a time limit, log to $OUT/name.log, say how it ended
    local name=$1 limit=$2
    shift 2
    if [[ " $SKIP " == *" $name "* ]]; then echo "$name: skipped (SKIP)" | tee -a "$OUT/session.log"; return; fi
    if [ "$limit" -le 5 ]; then echo "$name: skipped, no time left" | tee -a "$OUT/session.log"; return; fi
    local begin=$(date +%s)
    timeout --signal=INT --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1
    echo "$name: exit $? after $(($(date +%s) - begin)) s (limit $limit s)" | tee -a "$OUT/session.log"
}
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 CUBLAS_WORKSPACE_CONFIG=:4096:8

step machine 30 bash -c 'nvidia-smi; python3 -c "import torch; print(torch.__version__, torch.version.cuda, torch.cuda.is_available() and torch.cuda.get_device_name())"'
step unpack 120 python3 -c "from tvseg.runner.unpack import unpack_once; unpack_once('$BUNDLE', '$WORK')"
export PYTHONPATH=$PYTHONPATH:$WORK/site # the bundled segmentation_models_pytorch, where the box lacks it
step pytest_cuda 150 python3 -m pytest -q -p no:cacheprovider -m cuda tests/layers/test_cuda.py
step bench_cuda 150 python3 benchmarks/bench_cuda.py --repeats "$BENCH_REPEATS"
step bench_train_loop 90 python3 benchmarks/bench_train_loop.py --bundle "$BUNDLE" --work "$WORK" \
    --device "$DEVICE" --iterations 30 --repeats "$BENCH_REPEATS"
step estimate 120 python3 -m tvseg.cli estimate --bundle "$BUNDLE" --work "$WORK" --device "$DEVICE" \
    --iterations "$ESTIMATE_ITERATIONS" --jobs "$JOBS" --out "$OUT/estimate.md" --json "$OUT/estimate.json"
limit=$(($(left) - 30))
plan=()
[ -s "$OUT/estimate.json" ] && plan=(--budget $((limit - 15)) --estimate "$OUT/estimate.json")
step gpu_run "$limit" python3 -m tvseg.cli gpu-run --bundle "$BUNDLE" --work "$WORK" --device "$DEVICE" --quiet \
    --jobs "$JOBS" "${plan[@]}"
results=$(python3 -c "import yaml; print(yaml.safe_load(open('$BUNDLE/config.yaml'))['results_dir'])")
tar czf "$OUT/results.tgz" --exclude='*.pt' --exclude='checkpoint*' "$results" 2>>"$OUT/session.log"
echo "session: $(($(date +%s) - start)) s of $BUDGET" | tee -a "$OUT/session.log"
