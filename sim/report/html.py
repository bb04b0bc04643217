"""A report as a list of blocks, rendered to Markdown or to one self-contained HTML file.

The HTML has no external resource of any kind: styles are inline in the head,
figures are embedded as base64 PNG (``data:`` URIs), there is no script. It opens
offline, from an e-mail attachment as well as from the results folder, and prints.
The Markdown links the figure files beside it instead.
"""

from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass
from pathlib import Path


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


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list[Block], folder: Path) -> str:
    """Markdown, figures linked relative to ``folder`` (where the file is written)."""
    out: list[str] = []
    for block in blocks:
        match block:
            case Heading(level, text):
                out.append(f"{'#' * level} {text}")
            case Paragraph(text, note):
                out.append(f"*{text}*" if note else text)
            case Bullets(items):
                out.append("\n".join(f"- {item}" for item in items))
            case Table(header, rows, numeric, _):
                align = ["---:" if i in numeric else "---" for i in range(len(header))]
                lines = ["| " + " | ".join(_md_cell(h) for h in header) + " |",
                         "| " + " | ".join(align) + " |"]
                lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
                out.append("\n".join(lines))
            case FigureBlock(title, caption, png, svg):
                link = Path(os.path.relpath(png, folder)).as_posix()
                text = f"![{title}]({link})\n\n*{title}.* {caption}"
                if svg is not None:
                    text += f" ([SVG]({Path(os.path.relpath(svg, folder)).as_posix()}))"
                out.append(text)
    return "\n\n".join(out) + "\n"


def _html_table(block: Table) -> str:
    def cell(tag: str, i: int, text: str) -> str:
        cls = ' class="num"' if i in block.numeric else ""
        return f"<{tag}{cls}>{html.escape(text)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(block.header))
    body = "\n".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>"
                     for row in block.rows)
    table = f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"
    if block.folded:
        summary = f"<summary>{html.escape(block.folded)}</summary>"
        return f"<details open>\n{summary}\n{table}\n</details>"
    return table


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header (its IHDR chunk)."""
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _html_figure(block: FigureBlock) -> str:
    data = block.png.read_bytes()
    width, height = _png_size(data)
    source = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    caption = f"<strong>{html.escape(block.title)}.</strong> {html.escape(block.caption)}"
    return (f'<figure>\n<img src="{source}" alt="{html.escape(block.title)}: '
            f'{html.escape(block.caption)}" width="{width}" height="{height}">\n'
            f"<figcaption>{caption}</figcaption>\n</figure>")


def to_html(blocks: list[Block], title: str) -> str:
    """One self-contained HTML page."""
    parts: list[str] = []
    for block in blocks:
        match block:
            case Heading(level, text):
                parts.append(f"<h{level}>{html.escape(text)}</h{level}>")
            case Paragraph(text, note):
                parts.append(f'<p class="note">{html.escape(text)}</p>' if note else
                             f"<p>{html.escape(text)}</p>")
            case Bullets(items):
                parts.append("<ul>\n" + "\n".join(f"<li>{html.escape(i)}</li>" for i in items)
                             + "\n</ul>")
            case Table():
                parts.append(_html_table(block))
            case FigureBlock():
                parts.append(_html_figure(block))
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
            f"<body>\n{body}\n</body>\n</html>\n")
