#!/usr/bin/env bash
# The probe, one job after another (resumes from its checkpoint if stopped): prepare CamVid, train
# Segnet1 seed 0 for 8000 iterations, then set it against the committed 4000-iteration runs of seeds 0
# and 1 (profiles/cpu's levelling check, results/cpu/carried/camvid/longer_schedule/).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
P=results/cpu-camvid-probe/levelling8000
RUN=$P/runs/segnet_camvid_clean/seed0   # the checkpoint; git ignores runs/, its log is copied up
C="--config config.yaml --config profiles/cpu/tvseg.yaml --config $P/overlay.yaml"
T=".venv/bin/python -m tvseg.cli"
date -u +"%FT%TZ start" >> $P/run_times.txt
$T prepare --dataset camvid --without-noisy $C --quiet
$T train --longer --run segnet_camvid_clean --seed 0 --threads 2 --out $RUN $C --quiet
date -u +"%FT%TZ trained 8000" >> $P/run_times.txt
cp $RUN/log.csv $RUN/model_provenance.json $P/
$T curves results/cpu/carried/camvid/longer_schedule/segnet_camvid_clean/seed{0,1}/log.csv --out $P/curves_4000.csv
$T levelling --curves $P/curves_4000.csv --longer $RUN/log.csv --dataset camvid \
  --md $P/levelling_camvid.md --png $P/levelling_camvid.png $C
$T evaluate --run segnet_camvid_clean --seed 0 --model $RUN/model.pt --out $P/evaluation.csv $C --quiet
date -u +"%FT%TZ evaluated 8000" >> $P/run_times.txt
