"""The README's layer example and the layer reference's (docs/layer.md) must run as written, and
every page the README links must exist."""

import re

import pytest
from helpers import (
    ROOT,
)

README = ROOT / "README.md"

LAYER_DOC = ROOT / "docs" / "layer.md"


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def _readme_layer_examples() -> list[str]:
    text = README.read_text()
    section = text[text.index("## The layer in ten lines\n") :]
    return _python_blocks(section[: section.index("\n## ", 1)])


def test_the_layer_pages_have_examples():
    assert len(_readme_layer_examples()) == 1
    assert len(_python_blocks(LAYER_DOC.read_text())) >= 2


@pytest.mark.parametrize("index", range(1))
def test_readme_layer_example_runs(index):
    exec(compile(_readme_layer_examples()[index], f"README.md layer example {index + 1}", "exec"), {})


@pytest.mark.parametrize("index", range(2))
def test_layer_reference_example_runs(index):
    exec(compile(_python_blocks(LAYER_DOC.read_text())[index], f"docs/layer.md example {index + 1}", "exec"), {})


def test_the_readme_is_short_and_its_links_lead_somewhere():
    text = README.read_text()
    assert len(text.splitlines()) < 150
    links = re.findall(r"\]\(([^)#]+)\)", text)
    assert {"docs/reproducing.md", "docs/dvc.md", "docs/gpu.md", "docs/cluster.md", "docs/layer.md"} <= set(links)
    for link in links:
        assert (ROOT / link).exists(), link
    for page in (ROOT / "docs").glob("*.md"):
        for link in re.findall(r"\]\(([^)#]+)\)", page.read_text()):
            assert (page.parent / link).exists(), f"{page.name}: {link}"
