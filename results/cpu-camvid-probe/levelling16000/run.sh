#!/usr/bin/env bash
# The probe, one job after another (each training resumes from its checkpoint if stopped): prepare
# CamVid, train Segnet1 seed 0 for 16000 iterations and seed 1 for 8000, then set the 16000-iteration
# run against the 8000-iteration runs of seeds 0 (../levelling8000/log.csv) and 1, and evaluate it.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
P=results/cpu-camvid-probe/levelling16000
LONG=$P/runs/segnet_camvid_clean/seed0           # checkpoints; git ignores runs/, the logs are copied up
BASE=$P/runs/base/segnet_camvid_clean/seed1
C="--config config.yaml --config profiles/cpu/tvseg.yaml --config $P/overlay.yaml"
T=".venv/bin/python -m tvseg.cli"
date -u +"%FT%TZ start" >> $P/run_times.txt
$T prepare --dataset camvid --without-noisy $C --quiet
$T train --longer --run segnet_camvid_clean --seed 0 --threads 2 --out $LONG $C --quiet
date -u +"%FT%TZ trained 16000 (seed 0)" >> $P/run_times.txt
cp $LONG/log.csv $P/log_16000_seed0.csv
cp $LONG/model_provenance.json $P/model_provenance_16000_seed0.json
$T train --run segnet_camvid_clean --seed 1 --threads 2 --out $BASE $C --quiet
date -u +"%FT%TZ trained 8000 (seed 1)" >> $P/run_times.txt
cp $BASE/log.csv $P/log_8000_seed1.csv
cp $BASE/model_provenance.json $P/model_provenance_8000_seed1.json
mkdir -p $P/runs/base/segnet_camvid_clean/seed0   # curves reads run and seed from the folders
cp results/cpu-camvid-probe/levelling8000/log.csv $P/runs/base/segnet_camvid_clean/seed0/log.csv
$T curves $P/runs/base/segnet_camvid_clean/seed{0,1}/log.csv --out $P/curves_8000.csv
$T levelling --curves $P/curves_8000.csv --longer $LONG/log.csv --dataset camvid \
  --md $P/levelling_camvid.md --png $P/levelling_camvid.png $C
$T evaluate --run segnet_camvid_clean --seed 0 --model $LONG/model.pt --out $P/evaluation.csv $C --quiet
date -u +"%FT%TZ evaluated 16000 (seed 0)" >> $P/run_times.txt
