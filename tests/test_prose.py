"""Numbers quoted in README.md's verdict and in results/README.md must come from generated files.

Every decimal number in those passages (outside code blocks) must appear, written the same way,
in a file the pipeline or a script generated under results/ (claims, tables, seed spread,
learned lambdas, post-TV choice, RE calibration, lambda study, the GPU session's logs). A number typed in by hand that
drifts from the data fails this test.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKED_BEGIN = "<!-- checked numbers: begin -->"
CHECKED_END = "<!-- checked numbers: end -->"
NUMBER = re.compile(r"(?<![\w.])(?<!Eq\. )[+-]?\d+\.\d+(?![\w.])")  # equation numbers (Eq. 4.1) are not results
GENERATED = ("*.md", "*.csv", "*.json", "*.txt")


def _generated_text() -> str:
    files = [p for pattern in GENERATED for p in (ROOT / "results").rglob(pattern) if p.name != "README.md"]
    return "\n".join(p.read_text(errors="replace") for p in files)


def _without_code(text: str) -> str:
    return re.sub(r"```.*?```", "", text, flags=re.DOTALL)


def _checked_passages(text: str) -> list[str]:
    return re.findall(re.escape(CHECKED_BEGIN) + r"(.*?)" + re.escape(CHECKED_END), text, flags=re.DOTALL)


def _unsupported(text: str, corpus: str) -> list[str]:
    missing = []
    for number in NUMBER.findall(_without_code(text)):
        bare = number.lstrip("+-")
        if not re.search(r"(?<![\d.])" + re.escape(bare) + r"(?!\d)", corpus):
            missing.append(number)
    return missing


def test_the_readme_verdict_quotes_only_generated_numbers():
    passages = _checked_passages((ROOT / "README.md").read_text())
    assert passages, f"README.md must mark its verdict with {CHECKED_BEGIN} ... {CHECKED_END}"
    corpus = _generated_text()
    assert [n for p in passages for n in _unsupported(p, corpus)] == []


def test_results_readme_quotes_only_generated_numbers():
    assert _unsupported((ROOT / "results" / "README.md").read_text(), _generated_text()) == []


def test_the_check_catches_a_number_typed_by_hand():
    corpus = "| RUnet1 | +2.58 [-18.51, +23.67] |"
    assert _unsupported("claim 1: +2.58 within [-18.51, +23.67]", corpus) == []
    assert _unsupported("claim 1: +2.6 (rounded by hand)", corpus) == ["+2.6"]
    assert _unsupported("```\nlr 1.0e-2 in code\n```", corpus) == []


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
