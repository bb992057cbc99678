"""The report as one self-contained HTML page: inline CSS, figures as data URIs, no scripts."""

from __future__ import annotations

import html
from collections.abc import Sequence

from judgecal._version import __version__
from judgecal.report.sections import ReportSection

__all__ = ["render_page"]

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       color: #1d232b; background: #fafbfc; line-height: 1.45; }
main { max-width: 1180px; margin: 0 auto; padding: 1.5rem 2rem 3rem; }
header { background: #24364b; color: #fff; padding: 1.2rem 2rem; }
header h1 { margin: 0 0 .3rem; font-size: 1.6rem; }
header p { margin: 0; opacity: .85; }
nav ul { display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; padding: 0; list-style: none; }
nav a { color: #24527a; }
section { background: #fff; border: 1px solid #dde3ea; border-radius: 6px;
          padding: .6rem 1.4rem 1.2rem; margin: 1.2rem 0; }
h2 { font-size: 1.3rem; border-bottom: 1px solid #e5e9ee; padding-bottom: .3rem; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .88rem; }
th, td { border: 1px solid #d5dbe2; padding: .25rem .6rem; text-align: left; }
th { background: #eef2f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: .8rem; }
figure { margin: 0; text-align: center; }
img.figure { max-width: 100%; height: auto; border: 1px solid #eef0f3; }
figcaption { font-size: .82rem; color: #58626d; }
.worth { font-size: 1.05rem; background: #eef6ee; border-left: 4px solid #3c8d3c;
         padding: .5rem .8rem; }
footer { color: #6b7580; font-size: .8rem; text-align: center; margin-top: 2rem; }
"""


def _contents(sections: Sequence[ReportSection]) -> str:
    links = "".join(
        f'<li><a href="#{html.escape(s.anchor, quote=True)}">{html.escape(s.title)}</a></li>'
        for s in sections
    )
    return f"<nav><ul>{links}</ul></nav>"


def render_page(title: str, subtitle: str, sections: Sequence[ReportSection]) -> str:
    """The whole HTML document.

    Examples
    --------
    >>> page = render_page("T", "sub", [ReportSection("a", "A", "<p>x</p>")])
    >>> page.startswith("<!DOCTYPE html>"), '<section id="a">' in page
    (True, True)
    """
    body = "".join(
        f'<section id="{html.escape(s.anchor, quote=True)}"><h2>{html.escape(s.title)}</h2>'
        f"{s.body}</section>"
        for s in sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>"
        f"<main>{_contents(sections)}{body}"
        f"<footer>Made by judgecal {html.escape(__version__)}. This file needs no network "
        "access: figures are embedded.</footer></main></body></html>\n"
    )
