"""Standalone HTML pages of results (the report shows HTML results in the page, not as downloads)."""

from __future__ import annotations

_HTML_STYLE = (
    "body{font-family:sans-serif;font-size:13px;margin:1em}table{border-collapse:collapse;margin:1em 0}"
    "th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#f3f3f3}"
    "td:first-child,td:nth-child(2),td:nth-child(3){text-align:left}"
)


def html_page(title: str, body: str) -> str:
    """A small standalone HTML page (the report shows HTML results in the page, not as downloads)."""
    from html import escape

    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{_HTML_STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def markdown_html(text: str, title: str) -> str:
    """Markdown (headings, paragraphs, pipe tables) as a standalone HTML page."""
    from markdown_it import MarkdownIt

    return html_page(title, MarkdownIt("commonmark").enable("table").render(text))
