"""Wall time of each job of one or more Snakemake runs, from their logs (.snakemake/log/*.snakemake.log).

python scripts/job_times.py .snakemake/log/<run>.snakemake.log [more logs] > times.md
python scripts/job_times.py --previous results/cpu/job_times_wbc.md <logs of a later session> > times.md

Each job once (the last run that finished it), then per rule the jobs' total and median, and the
total over all jobs: on a machine that ran one job at a time, the part's wall time. A long run
spans sessions whose logs do not survive them: ``--previous`` reads the per-job rows of an earlier
output of this script (to 0.1 min), and the logs given after it override the jobs they finished.
It repeats, a later table overriding an earlier one's jobs: a session stopped inside a seed keeps
its jobs' table in ``results/<profile>/carried/<dataset>/job_times/`` for the session that ends it.
"""

import re
import statistics
import sys
from collections import defaultdict
from datetime import datetime

STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")


def job_times(lines):
    started, finished, names = {}, {}, {}
    stamp, rule, job = None, None, None
    for line in lines:
        line = line.rstrip("\n")
        if m := STAMP.match(line):
            stamp = datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")
        elif m := re.match(r"^(?:local)?rule (\w+):$", line):
            rule, job = m.group(1), None
        elif (m := re.match(r"^\s+jobid: (\d+)$", line)) and rule:
            job = m.group(1)
            started[job] = stamp
            names[job] = (rule, "")
        elif (m := re.match(r"^\s+wildcards: (.*)$", line)) and job:
            names[job] = (rule, m.group(1))
        elif m := re.match(r"^Finished jobid: (\d+)", line):
            finished[m.group(1)] = stamp
    rows = [(names[j], (finished[j] - started[j]).total_seconds()) for j in finished if j in started]
    return sorted(rows)


PREVIOUS_ROW = re.compile(r"^\| (\w+) \| ([^|]*?) \| ([\d.]+) \|$")


def previous_rows(text: str) -> dict:
    """The per-job rows (rule, wildcards) -> seconds of an earlier output of this script."""
    table = text.split("\n| rule | jobs |")[0]
    return {(m.group(1), m.group(2)): float(m.group(3)) * 60 for m in map(PREVIOUS_ROW.match, table.splitlines()) if m}


def main() -> None:
    args = sys.argv[1:]
    rows = {}
    while args[:1] == ["--previous"]:  # repeated: the part's table, then a later session's partial one
        with open(args[1]) as previous:
            rows.update(previous_rows(previous.read()))
        args = args[2:]
    for path in args:
        with open(path) as log:
            rows.update(dict(job_times(log)))  # a job redone by a later run counts once, as finished there
    by_rule = defaultdict(list)
    print("| rule | wildcards | wall time (min) |\n|---|---|---|")
    for (rule, wildcards), seconds in sorted(rows.items()):
        by_rule[rule].append(seconds)
        print(f"| {rule} | {wildcards} | {seconds / 60:.1f} |")
    print("\n| rule | jobs | jobs' total (min) | median job (min) |\n|---|---|---|---|")
    for rule, times in sorted(by_rule.items()):
        print(f"| {rule} | {len(times)} | {sum(times) / 60:.1f} | {statistics.median(times) / 60:.1f} |")
    total = sum(rows.values())
    print(f"\nAll {len(rows)} jobs: {total / 60:.1f} min ({total / 3600:.2f} hours) one after another.")
    typical = sum(len(times) * statistics.median(times) for times in by_rule.values())
    print(
        f"At each rule's median job (what an idle machine gives where some jobs shared theirs): "
        f"{typical / 60:.1f} min ({typical / 3600:.2f} hours)."
    )


if __name__ == "__main__":
    main()
