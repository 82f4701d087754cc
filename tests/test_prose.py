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
