"""A report as a list of blocks, rendered to Markdown or to one self-contained HTML file.

The HTML has no external resource of any kind: styles are inline in the head,
figures are embedded as base64 PNG (``data:`` URIs), there is no script. It opens
offline, from an e-mail attachment as well as from the results folder, and prints.
The Markdown links the figure files beside it instead.

A block's text is plain text, much of it read from files (names, keys, values and the
comments beside them in a scenario file): it is data, never markup. Each output kind
has one escaping function, applied to every text as it enters the page:
``html_text`` (``html.escape``) for the HTML, ``markdown_text`` for the Markdown —
so a name holding ``<script>``, ``![](http://...)`` or ``[x](javascript:...)`` is
shown as typed by any Markdown viewer, and nothing in it runs or is fetched.
"""

from __future__ import annotations

import base64
import html
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str
    note: bool = False  # a side remark, shown smaller


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[int, ...] = ()  # columns aligned right
    folded: str = ""  # if set, shown folded under this summary line in HTML


@dataclass(frozen=True)
class FigureBlock:
    title: str
    caption: str
    png: Path
    svg: Path | None = None


Block = Heading | Paragraph | Bullets | Table | FigureBlock

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
       max-width: 62rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5;
       color: #1a1a1a; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.3rem; margin-top: 2.2rem; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05rem; margin-top: 1.5rem; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.92rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left;
         vertical-align: top; }
th { background: #f2f2f2; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.5rem 0; }
figure img { width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.9rem; color: #444; }
p.note { font-size: 0.9rem; color: #555; }
code { font-size: 0.9em; }
@media print { body { max-width: none; } figure { break-inside: avoid; } }
"""


def html_text(text: str) -> str:
    """Plain text as HTML text or attribute value: ``& < > " '`` as character
    references (``html.escape``)."""
    return html.escape(text, quote=True)


#: Characters with a meaning in Markdown wherever they stand (CommonMark 0.31, section
#: 2.4: any ASCII punctuation may be backslash-escaped): code spans, emphasis, links
#: and images, headings' closing ``#``, tables and strikethrough (GitHub), math
#: (GitHub, KaTeX viewers) and attribute lists ``{: ...}`` (Python-Markdown, kramdown).
_MARKDOWN_ACTIVE = re.compile(r"([\\`*\[\]#|~$!{}])")
#: ``_`` opens or closes emphasis unless it stands between two letters or digits
#: (CommonMark 6.2, "intraword"), as in ``red_line``, which is left as it is.
_LONE_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
#: What starts a block at the start of a line: a quote, a list item (``-``, ``+``, or
#: digits and ``.`` or ``)``, then a space or the end), a rule ``- - -`` (CommonMark
#: 4.1, 5.1, 5.2); ``*``, ``_``, ``#`` and ``<`` are escaped wherever they stand.
_BLOCK_START = re.compile(r"^(?:>|[-+](?=\s|$)|-(?=(?:\s*-){2,}\s*$)|\d{1,9}(?=[.)](?:\s|$)))")


def markdown_text(text: str) -> str:
    """Plain text as Markdown that a viewer shows as that text (whitespace runs folded
    into one space, as HTML shows them): Markdown's active characters backslash-
    escaped, the HTML-active ``<`` and ``&`` as character references (no tag, autolink
    or entity can start), line breaks folded (the text cannot start a block of its
    own below its first line), and a marker that would start a block escaped."""
    text = " ".join(text.replace("\x00", "\ufffd").split())
    text = _MARKDOWN_ACTIVE.sub(r"\\\1", text.replace("&", "&amp;").replace("<", "&lt;"))
    text = _LONE_UNDERSCORE.sub(r"\\_", text)
    match = _BLOCK_START.match(text)
    if match:
        end = match.end()
        text = (text[:end] + "\\" + text[end:]) if text[:1].isdigit() else "\\" + text
    return text


def _md_link(path: Path, folder: Path) -> str:
    """A file's link relative to ``folder``, percent-encoded (no space, parenthesis or
    angle bracket of a folder name can end the link or open another)."""
    return quote(Path(os.path.relpath(path, folder)).as_posix(), safe="/")


def to_markdown(blocks: list[Block], folder: Path) -> str:
    """Markdown, figures linked relative to ``folder`` (where the file is written);
    every text through ``markdown_text``."""
    md = markdown_text
    out: list[str] = []
    for block in blocks:
        match block:
            case Heading(level, text):
                out.append(f"{'#' * level} {md(text)}")
            case Paragraph(text, note):
                out.append(f"*{md(text)}*" if note else md(text))
            case Bullets(items):
                out.append("\n".join(f"- {md(item)}" for item in items))
            case Table(header, rows, numeric, _):
                align = ["---:" if i in numeric else "---" for i in range(len(header))]
                lines = ["| " + " | ".join(md(h) for h in header) + " |",
                         "| " + " | ".join(align) + " |"]
                lines += ["| " + " | ".join(md(c) for c in row) + " |" for row in rows]
                out.append("\n".join(lines))
            case FigureBlock(title, caption, png, svg):
                text = f"![{md(title)}]({_md_link(png, folder)})\n\n*{md(title)}.* {md(caption)}"
                if svg is not None:
                    text += f" ([SVG]({_md_link(svg, folder)}))"
                out.append(text)
    return "\n\n".join(out) + "\n"


def _html_table(block: Table) -> str:
    def cell(tag: str, i: int, text: str) -> str:
        cls = ' class="num"' if i in block.numeric else ""
        return f"<{tag}{cls}>{html_text(text)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(block.header))
    body = "\n".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>"
                     for row in block.rows)
    table = f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"
    if block.folded:
        summary = f"<summary>{html_text(block.folded)}</summary>"
        return f"<details open>\n{summary}\n{table}\n</details>"
    return table


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header (its IHDR chunk)."""
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _html_figure(block: FigureBlock) -> str:
    data = block.png.read_bytes()
    width, height = _png_size(data)
    source = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    caption = f"<strong>{html_text(block.title)}.</strong> {html_text(block.caption)}"
    return (f'<figure>\n<img src="{source}" alt="{html_text(block.title)}: '
            f'{html_text(block.caption)}" width="{width}" height="{height}">\n'
            f"<figcaption>{caption}</figcaption>\n</figure>")


def to_html(blocks: list[Block], title: str) -> str:
    """One self-contained HTML page."""
    parts: list[str] = []
    for block in blocks:
        match block:
            case Heading(level, text):
                parts.append(f"<h{level}>{html_text(text)}</h{level}>")
            case Paragraph(text, note):
                parts.append(f'<p class="note">{html_text(text)}</p>' if note else
                             f"<p>{html_text(text)}</p>")
            case Bullets(items):
                parts.append("<ul>\n" + "\n".join(f"<li>{html_text(i)}</li>" for i in items)
                             + "\n</ul>")
            case Table():
                parts.append(_html_table(block))
            case FigureBlock():
                parts.append(_html_figure(block))
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html_text(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
            f"<body>\n{body}\n</body>\n</html>\n")
