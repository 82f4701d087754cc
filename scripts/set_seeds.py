"""Set a dataset's seed list in a profile to 0..LAST, keeping the file's comments (scripts/run_seeds.sh).

    python scripts/set_seeds.py profiles/cpu/tvseg.yaml wbc 3

Rewrites the ``seeds:`` line inside ``datasets.<dataset>`` alone (its comment kept in its column
where the new list leaves room), and checks the result reads back as that list.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import yaml


def set_seeds(text: str, dataset: str, last: int) -> str:
    lines = text.splitlines(keepends=True)
    inside, section_indent, key_indent = False, None, None
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if re.match(rf"{re.escape(dataset)}:\s*(#.*)?$", stripped) and indent > 0:
            inside, section_indent = True, indent
            continue
        if not inside or not stripped or stripped.startswith("#"):
            continue
        if indent <= section_indent:
            break
        key_indent = key_indent or indent  # the dataset's own keys; deeper ones (curve.seeds) are not its list
        if indent == key_indent and re.match(r"seeds:\s*\[", stripped):
            rest = line[line.index("]") + 1 :] if "]" in line else "\n"
            head = f"{' ' * indent}seeds: [{', '.join(str(s) for s in range(last + 1))}]"
            if rest.strip().startswith("#"):  # the comment stays in its column where the list leaves room
                column = len(line) - len(rest.lstrip(" "))
                rest = " " * max(2, column - len(head)) + rest.lstrip(" ")
            lines[i] = head + rest
            result = "".join(lines)
            if yaml.safe_load(result)["datasets"][dataset]["seeds"] != list(range(last + 1)):
                raise ValueError(f"datasets.{dataset}.seeds did not read back as 0..{last}")
            return result
    raise ValueError(f"no seeds: [...] line under datasets.{dataset}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("dataset")
    parser.add_argument("last", type=int)
    args = parser.parse_args()
    args.profile.write_text(set_seeds(args.profile.read_text(), args.dataset, args.last))
    print(f"{args.profile}: datasets.{args.dataset}.seeds = 0..{args.last}")


if __name__ == "__main__":
    main()
