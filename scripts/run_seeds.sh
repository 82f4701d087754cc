#!/usr/bin/env bash
# A long run of a profile's seeds, whole seed by whole seed, from a worktree of the commit it starts on.
#
#   git worktree add ../run-wbc HEAD && cd ../run-wbc
#   nohup bash scripts/run_seeds.sh wbc 1 9 > run_seeds.log 2>&1 &
#   (each whole seed then lands from the main checkout: scripts/land_seed.sh)
#
# For each seed K from FIRST to LAST: the profile's seed list of DATASET is set to 0..K (in this
# worktree's profiles/cpu/tvseg.yaml only), Snakemake runs the whole profile (seed K's trainings
# and evaluations, then everything collected and rendered from seeds 0..K), and the finished
# runs' small files are saved into results/<profile>/carried/ (scripts/carry_runs.py), so a
# stopped run leaves whole seeds and the next session restores them (stopped inside a seed:
# `carry_runs.py save` keeps that seed's finished runs as well). Where post-TV's choice is committed
# and made with trained nets (CamVid's val split), seed K's tuning net is trained first, alone, and
# the choice restored after it, so the choice is not made again (carry_runs.py: tuning-models).
# Nothing else should run on the cores beside it (docs/reproducing.md: Long runs). Uses the python
# of $PYTHON (default: the main checkout's .venv) with this worktree's src/ first on the path.
set -euo pipefail
DATASET=${1:?dataset}
FIRST=${2:?first seed}
LAST=${3:?last seed}
PROFILE=${PROFILE:-profiles/cpu}
PYTHON=${PYTHON:-$(git worktree list --porcelain | awk '/^worktree/ {print $2; exit}')/.venv/bin/python}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
SNAKEMAKE="$(dirname "$PYTHON")/snakemake"
# The data first, then the finished runs restored after it, so they are newer and Snakemake does
# not redo them. --until finds the data jobs only through a job that needs them: with just the
# committed seeds listed, every final output is up to date and nothing upstream is looked at, so
# the seed list reaches FIRST and the carried runs are restored (which removes the dataset's
# collections, to be made anew) before it, and restored once more after it.
"$PYTHON" scripts/set_seeds.py "$PROFILE/tvseg.yaml" "$DATASET" "$FIRST"
restore() {
    "$PYTHON" scripts/carry_runs.py restore --dataset "$DATASET" --config config.yaml --config "$PROFILE/tvseg.yaml"
}
restore
"$SNAKEMAKE" --profile "$PROFILE" --until make_noisy_split
restore
for seed in $(seq "$FIRST" "$LAST"); do
    "$PYTHON" scripts/set_seeds.py "$PROFILE/tvseg.yaml" "$DATASET" "$seed"
    echo "== $(date -u +%FT%TZ) seed $seed of $DATASET: seeds 0..$seed"
    tuning=$("$PYTHON" scripts/carry_runs.py tuning-models --seed "$seed" --dataset "$DATASET" --config config.yaml --config "$PROFILE/tvseg.yaml")
    if [ -n "$tuning" ]; then
        # shellcheck disable=SC2086  # one path a line, no spaces (tvseg.core.layout)
        "$SNAKEMAKE" --profile "$PROFILE" $tuning
        restore
    fi
    "$SNAKEMAKE" --profile "$PROFILE"
    "$PYTHON" scripts/carry_runs.py save --dataset "$DATASET" --config config.yaml --config "$PROFILE/tvseg.yaml"
    echo "== $(date -u +%FT%TZ) seed $seed of $DATASET done"
done
