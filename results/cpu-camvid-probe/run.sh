#!/usr/bin/env bash
# the probe, one job after another: prepare, the configured and the longer training, curves, levelling, test evaluation
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
C="--config config.yaml --config profiles/cpu/tvseg.yaml --config <probe>/overlay.yaml"
T=".venv/bin/python -m tvseg.cli"
date -u +"%FT%TZ start"
$T prepare --dataset camvid --without-noisy $C --quiet
date -u +"%FT%TZ prepared"
$T train --run segnet_camvid_clean --seed 0 --threads 2 $C --quiet
date -u +"%FT%TZ trained 1500"
$T train --longer --run segnet_camvid_clean --seed 0 --threads 2 $C --quiet
date -u +"%FT%TZ trained 3000"
$T curves <probe>/results/runs/segnet_camvid_clean/seed0/log.csv --out <probe>/results/curves.csv
$T levelling --curves <probe>/results/curves.csv --longer <probe>/results/longer_schedule/runs/segnet_camvid_clean/seed0/log.csv --dataset camvid --md <probe>/results/levelling_camvid.md --png <probe>/results/levelling_camvid.png $C
$T evaluate --run segnet_camvid_clean --seed 0 $C --quiet
date -u +"%FT%TZ evaluated 1500"
$T evaluate --run segnet_camvid_clean --seed 0 --model <probe>/results/longer_schedule/runs/segnet_camvid_clean/seed0/model.pt --out <probe>/results/longer_evaluation.csv $C --quiet
date -u +"%FT%TZ evaluated 3000"
