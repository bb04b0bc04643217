"""Text into a Solara page as text, never as markup: the one way words read from a
file (round, party, mediator and issue names, keys, error messages) enter the
teaching layer's pages (the dashboard; the play page to come).

Solara offers three ways to put words on a page, and only one is safe for a file's
words:

- an element whose children are strings (``v.Html(tag=..., children=[...])``, which
  ``element`` builds): Vue turns each string into a text node, so ``<img src=x
  onerror=...>`` or ``{{ ... }}`` in a name is shown as typed, and never parsed;
- ``solara.Markdown``: Markdown rendered to HTML (raw HTML passes through) which is
  then compiled as a Vue *template*, so a tag runs its handlers and ``{{ ... }}`` is
  evaluated as a JavaScript expression; it also loads KaTeX and Mermaid through
  Solara's CDN proxy, i.e. from the internet;
- ``solara.HTML(unsafe_innerHTML=...)`` and ``solara.Image`` given a string (taken as
  a URL to fetch).

So a page of this layer builds its text with ``element`` (and ``table``), and passes
a file's words to no Markdown, HTML, template or URL. Labels given to Solara's own
inputs (a slider's ``label``) are Vue props rendered as text, and are safe too.
"""

from __future__ import annotations

from collections.abc import Sequence

import reacton.ipyvuetify as v
from reacton.core import Element

Child = str | int | float | Element


def element(tag: str, *children: Child, classes: Sequence[str] = (), style: str = ""
            ) -> Element:
    """An HTML element ``tag`` holding ``children``: numbers and strings become text
    nodes (shown as typed, whatever they contain), elements stay elements."""
    kept = [c if isinstance(c, Element) else str(c) for c in children]
    return v.Html(tag=tag, children=kept, class_=" ".join(classes), style_=style)


def table(header: Sequence[str], rows: Sequence[Sequence[Child]],
          numeric: Sequence[int] = (), classes: Sequence[str] = ()) -> Element:
    """A table of text cells; columns in ``numeric`` aligned right."""

    def cell(tag: str, i: int, value: Child) -> Element:
        return element(tag, value, style="text-align: right; white-space: nowrap"
                       if i in numeric else "")

    head = element("thead", element("tr", *(cell("th", i, h) for i, h in enumerate(header))))
    body = element("tbody", *(element("tr", *(cell("td", i, c) for i, c in enumerate(row)))
                              for row in rows))
    return element("table", head, body, classes=classes)
