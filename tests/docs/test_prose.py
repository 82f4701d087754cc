"""Numbers quoted about results in README.md, results/README.md and docs/ must come from the files they name.

README.md's verdict is generated (``tvseg verdict``) and compared whole with what the committed
results render now. Everywhere else each paragraph (or table) that quotes a number names its
sources in backticks (`results/cpu/claims.md`, `cpu/tables/table1_variance.md`, a folder, a
profile's YAML); every decimal number in it, and every count ("5 seeds", "46 jobs", "124.2 min"),
must appear written the same way in one of those files. A paragraph that quotes a number and
names no source fails, and so does a digit or a count changed by hand. Code blocks and
backticked text are not prose; equation numbers (Eq. 4.1) are not results."""

import re
from pathlib import Path

from helpers import (
    ROOT,
)

CHECKED_PAGES = [ROOT / "README.md", ROOT / "results" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

UNCHECKED_BEGIN = "<!-- not results: begin"  # the layer's own measurements, the platform's facts

UNCHECKED_END = "<!-- not results: end -->"

DECIMAL = re.compile(r"(?<![\w.\-/])(?<!Eq\. )[+-]?\d+\.\d+(?![\w.])")

COUNT_WORDS = (
    "seeds?|iterations?|runs?|jobs?|images?|conditions?|claims?|min|minutes?|hours?|s|MiB|GiB|calls?|variants?"
    "|trainings?|evaluations?|values?|files?"
)

COUNT = re.compile(rf"(?<![\w.\-/])(\d+(?:\.\d+)?) ({COUNT_WORDS})\b")

MEASURES = ("s", "min", "minutes", "hours", "MiB", "GiB")

SOURCE = re.compile(r"`([^`\s]+)`|\]\(([^)\s]+)\)")

TEXT_FILES = ("*.md", "*.csv", "*.json", "*.txt", "*.yaml")


def _prose(text: str) -> str:
    from tvseg.reporting.verdict import BEGIN, END

    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    text = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), "", text, flags=re.DOTALL)  # compared whole below
    return re.sub(re.escape(UNCHECKED_BEGIN) + r".*?" + re.escape(UNCHECKED_END), "", text, flags=re.DOTALL)


def paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", _prose(text)) if p.strip()]


def quoted_numbers(paragraph: str) -> list[str]:
    bare = re.sub(r"`[^`]*`", "", re.sub(r"\]\([^)]*\)", "]", paragraph))
    counts = [f"{number} {word}" for number, word in COUNT.findall(bare)]
    decimals = [n for n in DECIMAL.findall(COUNT.sub("", bare))]
    return decimals + counts


def _resolve(token: str, page: Path) -> list[Path]:
    for base in (page.parent, ROOT, ROOT / "results", *sorted((ROOT / "results").glob("*/"))):
        path = (base / token).resolve()
        if path.is_file():
            return [path]
        if path.is_dir() and ROOT in path.parents:
            return [p for pattern in TEXT_FILES for p in path.rglob(pattern)]
    return []


def sources_of(paragraph: str, page: Path) -> list[Path]:
    found = []
    for code, link in SOURCE.findall(paragraph):
        token = (code or link).split("#")[0].strip("/") or "."
        if token and not token.startswith(("http", "-")):
            found += _resolve(token, page)
    return found


def _stem(word: str) -> str:
    return word[:-1] if word.endswith("s") and word not in ("s",) else word


def unsupported(paragraph: str, page: Path) -> list[str]:
    """The numbers of ``paragraph`` that none of its named sources holds (all of them, where it names none)."""
    numbers = quoted_numbers(paragraph)
    if not numbers:
        return []
    corpus = "\n".join(p.read_text(errors="replace") for p in sources_of(paragraph, page) if p != page)
    missing = []
    for number in numbers:
        if " " in number:
            value, word = number.split(" ", 1)
            pattern = rf"(?<![\d.]){re.escape(value)} {re.escape(_stem(word))}"
            if word in MEASURES:  # a duration or a size may stand bare in its source (JSON, a log)
                pattern += rf"|(?<![\d.]){re.escape(value)}(?![\d])"
        else:
            pattern = r"(?<![\d.])" + re.escape(number.lstrip("+-")) + r"(?!\d)"
        if not re.search(pattern, corpus):
            missing.append(number)
    return missing


def test_every_quoted_number_comes_from_the_files_its_paragraph_names():
    failures = []
    for page in CHECKED_PAGES:
        for paragraph in paragraphs(page.read_text()):
            missing = unsupported(paragraph, page)
            if missing:
                failures.append(f"{page.relative_to(ROOT)}: {missing} in: {paragraph[:160]!r}")
    assert failures == [], "\n".join(failures)


def test_a_digit_or_a_count_changed_by_hand_fails(tmp_path):
    source = tmp_path / "claims.md"
    source.write_text("| RUnet1 | +2.58 [-18.51, +23.67] (5 seeds) |\nAll 46 jobs: 124.2 min\n")
    page = tmp_path / "page.md"
    good = "Claim 1 is +2.58 [-18.51, +23.67] over 5 seeds; 46 jobs took 124.2 min (`claims.md`)."
    assert unsupported(good, page) == []
    assert unsupported(good.replace("+2.58", "+2.59"), page) == ["+2.59"]
    assert unsupported(good.replace("5 seeds", "6 seeds"), page) == ["6 seeds"]
    assert unsupported(good.replace("46 jobs", "45 jobs"), page) == ["45 jobs"]
    assert unsupported("Claim 1 is +2.58 over 5 seeds.", page) == ["+2.58", "5 seeds"]  # no source named
    assert unsupported("```\nlr 1.0e-2 in code\n```", page) == []


def test_the_readme_verdict_block_is_what_the_results_render_now():
    import pandas as pd

    from tvseg.core.config import load_config
    from tvseg.reporting.verdict import block_of, verdict_for_config

    config = load_config(ROOT / "config.yaml", ROOT / "profiles" / "cpu" / "tvseg.yaml")
    metrics = pd.read_csv(ROOT / config["results_dir"] / "metrics.csv")
    rendered = verdict_for_config(metrics, config)
    assert block_of((ROOT / "README.md").read_text()) == rendered, (
        "README.md's verdict differs from the results: run `make verdict` (tvseg verdict --readme README.md)"
    )


def test_a_digit_changed_by_hand_in_the_verdict_block_fails():
    from tvseg.reporting.verdict import BEGIN, END, block_of, replace_block

    readme = f"intro\n{BEGIN}\nclaim +1.01 [-2.77, +4.78], 5 seeds\n{END}\n"
    assert block_of(readme) == "claim +1.01 [-2.77, +4.78], 5 seeds\n"
    edited = readme.replace("5 seeds", "6 seeds")
    assert block_of(edited) != block_of(readme)
    assert block_of(replace_block(edited, "new\n")) == "new\n"
