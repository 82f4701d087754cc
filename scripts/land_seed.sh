#!/usr/bin/env bash
# Land a whole seed of a long run (scripts/run_seeds.sh) from its worktree into this checkout.
#
#   bash scripts/land_seed.sh ../run-camvid camvid 3 header.md
#
# Run it from the main checkout (its scripts/ run in the worktree) once the worktree's log says
# "seed K of DATASET done" and its run is stopped (a later seed's training may have begun: the
# worktree's seed list is set back to 0..K). HEADER is the first line of results/<profile>/job_times_<dataset>.md, written by hand:
# which seeds, which machines, what was stopped and resumed. In the worktree it then
#   - checks every seed 0..K of the dataset is carried and collected (carry_runs.py check),
#   - merges the dataset's job times (scripts/job_times.py): the committed table, then each
#     session's table kept under carried/<dataset>/job_times/ (in the order they were committed),
#     then the worktree's Snakemake logs (those changed after $SINCE, where set),
#   - renders the verdict (which quotes those times) and the Snakemake report again;
# and copies into this checkout what the run changed: the files git tracks or would track, and
# the ignored inputs and outputs of DVC's report stage (report.html, the longer schedule's log).
# A path changed here since the worktree's commit stops it before anything is copied. Here it
# then removes the merged session tables, rewrites README.md's verdict block (tvseg verdict) and
# dvc.yaml (tvseg dvc-yaml) and locks the report stage again (dvc commit -f report). What stays
# by hand: the prose (README.md, results/README.md, the profile's header), then the checks and
# the commit (docs/reproducing.md: Long runs).
set -euo pipefail
WORKTREE=$(cd "${1:?worktree}" && pwd)
DATASET=${2:?dataset}
SEED=${3:?seed}
HEADER=$(realpath "${4:?header file: the first line of the job-times table}")
PROFILE=${PROFILE:-profiles/cpu}
MAIN=$PWD
PYTHON=${PYTHON:-$MAIN/.venv/bin/python}
BIN=$(dirname "$PYTHON")
CONFIGS=(--config config.yaml --config "$PROFILE/tvseg.yaml")
die() { echo "land_seed.sh: $*" >&2; exit 1; }

[ -d "$WORKTREE/.snakemake/locks" ] && [ -n "$(ls -A "$WORKTREE/.snakemake/locks")" ] &&
    die "a Snakemake run holds $WORKTREE (.snakemake/locks): stop it first"
BASE=$(git -C "$WORKTREE" rev-parse HEAD)
git merge-base --is-ancestor "$BASE" HEAD || die "this checkout's HEAD does not contain the worktree's commit $BASE"
RESULTS=$(cd "$WORKTREE" && PYTHONPATH=src "$PYTHON" -c \
    'import sys; from tvseg.core.config import load_config; print(load_config(*sys.argv[1:])["results_dir"])' \
    config.yaml "$PROFILE/tvseg.yaml")
TIMES=$RESULTS/job_times_$DATASET.md

cd "$WORKTREE"
export PYTHONPATH="$WORKTREE/src"
"$PYTHON" "$MAIN/scripts/set_seeds.py" "$PROFILE/tvseg.yaml" "$DATASET" "$SEED"
"$PYTHON" "$MAIN/scripts/carry_runs.py" check --dataset "$DATASET" "${CONFIGS[@]}"
previous=(--previous "$TIMES")
# the sessions' tables in the order git added them: a later one overrides an earlier one's jobs
while read -r _ table; do
    previous+=(--previous "$table")
done < <(for table in "$RESULTS/carried/$DATASET/job_times/"*.md; do
    [ -e "$table" ] && echo "$(git log -1 --diff-filter=A --format=%ct -- "$table") $table"
done | sort -n)
mapfile -t logs < <(find .snakemake/log -name '*.snakemake.log' ${SINCE:+-newermt "$SINCE"} | sort)
[ ${#logs[@]} -gt 0 ] || die "no Snakemake logs in $WORKTREE/.snakemake/log${SINCE:+ changed after $SINCE}"
merged=$(mktemp)
{ cat "$HEADER"; echo; "$PYTHON" "$MAIN/scripts/job_times.py" "${previous[@]}" "${logs[@]}"; } > "$merged"
mv "$merged" "$TIMES"
"$BIN/snakemake" --profile "$PROFILE" --forcerun render_verdict "$RESULTS/verdict.md"
"$BIN/snakemake" --profile "$PROFILE" --report "$RESULTS/report.html"

# what git tracks or would track (not the .venv link), then the report stage's ignored files
mapfile -t changed < <(git status --porcelain --untracked-files=all | cut -c4- | grep -v '^\.venv$')
mapfile -t report_files < <("$PYTHON" -c '
import sys, yaml
stage = yaml.safe_load(open("dvc.yaml"))["stages"]["report"]
for entry in stage["deps"] + stage["outs"]:
    print(next(iter(entry)) if isinstance(entry, dict) else entry)' | git check-ignore --stdin || true)
cd "$MAIN"
for path in "${changed[@]}"; do
    git diff --quiet "$BASE" -- "$path" || die "$path changed here since the worktree's commit; nothing copied"
done
for path in "${changed[@]}" "${report_files[@]}"; do
    if [ -e "$WORKTREE/$path" ]; then
        mkdir -p "$(dirname "$path")"
        cp -p "$WORKTREE/$path" "$path"
    elif git ls-files --error-unmatch "$path" > /dev/null 2>&1; then
        git rm -q "$path"
    fi
    echo "landed $path"
done
for table in "$RESULTS/carried/$DATASET/job_times/"*.md; do
    [ -e "$table" ] && git rm -q "$table" && echo "merged into $TIMES: removed $table"
done
export PYTHONPATH="$MAIN/src"
"$PYTHON" -m tvseg.cli verdict --metrics "$RESULTS/metrics.csv" --readme README.md "${CONFIGS[@]}"
if [ "$PROFILE" = profiles/cpu ]; then  # DVC versions the CPU profile (docs/dvc.md)
    "$PYTHON" -m tvseg.cli dvc-yaml --profile "$PROFILE" > dvc.yaml
    "$BIN/dvc" commit -f report
fi
echo "land_seed.sh: seed $SEED of $DATASET landed; the prose, the checks and the commit are left (docs/reproducing.md)"
