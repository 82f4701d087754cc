"""The README's layer section doubles as the layer's reference: its examples must run as written."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _layer_examples() -> list[str]:
    text = README.read_text()
    section = text[text.index("## The layer\n") :]
    section = section[: section.index("\n## ", 1)]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_the_layer_section_has_examples():
    assert len(_layer_examples()) >= 2


@pytest.mark.parametrize("index", range(2))
def test_readme_layer_example_runs(index, capsys):
    exec(compile(_layer_examples()[index], f"README.md layer example {index + 1}", "exec"), {})
