"""Wall time of each job of a Snakemake run, from its log (.snakemake/log/*.snakemake.log).

python scripts/job_times.py .snakemake/log/<run>.snakemake.log > times.md
"""

import re
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


def main() -> None:
    with open(sys.argv[1]) as log:
        rows = job_times(log)
    totals = defaultdict(float)
    print("| rule | wildcards | wall time (min) |\n|---|---|---|")
    for (rule, wildcards), seconds in rows:
        totals[rule] += seconds
        print(f"| {rule} | {wildcards} | {seconds / 60:.1f} |")
    print("\n| rule | jobs' total (min) |\n|---|---|")
    for rule, seconds in sorted(totals.items()):
        print(f"| {rule} | {seconds / 60:.1f} |")


if __name__ == "__main__":
    main()
