#!/usr/bin/env bash
# Marks pulled files up to date for Snakemake (DVC keeps no file times): `snakemake --touch`,
# repeated until a dry run plans nothing, at most 4 passes.
#
#   SNAKEMAKE=.venv/bin/snakemake bash scripts/mark_up_to_date.sh profiles/cpu
#
# One pass is not always enough: where a job's input is ancient() and the job making it must be
# touched (post-TV's choice, after a pulled model that landed newer than it), Snakemake 9 leaves
# the consumer out of that pass even when its other inputs (the model) are newer than its
# outputs; the next pass plans it. Each pass touches only what the workflow would have run.
set -euo pipefail
profile=${1:?name the Snakemake profile, e.g. profiles/cpu}
snakemake=${SNAKEMAKE:-snakemake}
nothing_planned() {
    local plan
    plan=$("$snakemake" --profile "$profile" -n 2>&1) || { echo "$plan" >&2; exit 1; }
    [[ $plan == *"Nothing to be done"* ]]
}
for pass in 1 2 3 4; do
    nothing_planned && exit 0
    "$snakemake" --profile "$profile" --touch --quiet
done
nothing_planned && exit 0
echo "mark_up_to_date: snakemake --profile $profile still plans jobs after 4 --touch passes:" >&2
"$snakemake" --profile "$profile" -n >&2 || true
exit 1
