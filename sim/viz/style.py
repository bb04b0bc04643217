"""How every negsim figure looks: palette, markers, fonts, titles, files.

Colours are the Okabe–Ito palette (Okabe & Ito 2008, "Color Universal Design"),
distinguishable by the common forms of colour blindness; every series also gets its
own marker, line style or hatch, so a figure still reads in greyscale print.
Figures are ``matplotlib.figure.Figure`` objects on the Agg canvas: no display, no
``pyplot`` state. Files are written deterministically (no dates, fixed SVG ids), so
the same results give byte-identical figures.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, StrMethodFormatter

from sim.fileio import make_folder, write_atomically

#: Okabe–Ito colours in the order series take them (yellow last: faint on white paper).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
           "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 3)), (0, (8, 2)), "-")
HATCHES = ("", "//", "\\\\", "xx", "..", "++", "oo", "--")
GREY = "#777777"

#: Figure files: PNG for reports and slides, SVG for print and editing.
FORMATS = ("png", "svg")
DPI = 150
#: No dates in SVG metadata (same figure, same bytes); faster PNG compression.
_FILE_OPTIONS = {"png": {"pil_kwargs": {"compress_level": 1}},
                 "svg": {"metadata": {"Date": None}}}

_RC = {
    "font.size": 10,
    "axes.titlesize": 10.5,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "figure.titlesize": 12,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "hatch.linewidth": 0.8,
    "svg.hashsalt": "negsim",  # fixed ids: the same figure gives the same SVG bytes
    "svg.fonttype": "none",  # text stays text in SVG: smaller, editable, searchable
}


def series_style(k: int) -> dict:
    """Colour, marker and line style of the ``k``-th series (scenario, issue, ...)."""
    return {"color": PALETTE[k % len(PALETTE)], "marker": MARKERS[k % len(MARKERS)],
            "linestyle": LINESTYLES[k % len(LINESTYLES)]}


@contextmanager
def house_style() -> Iterator[None]:
    """Font sizes and spines for figures built (and saved) inside the block."""
    with matplotlib.rc_context(_RC):
        yield


def new_figure(width: float, height: float) -> Figure:
    """An empty figure on the Agg canvas (inches), laid out by matplotlib's
    constrained layout so that labels and legends do not overlap."""
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def run_title(names_and_runs: list[tuple[str, int]]) -> str:
    """The title naming each scenario and its number of simulated rounds (one line per
    scenario when several are compared, so that long names are not cut off)."""
    if len(names_and_runs) == 1:
        name, runs = names_and_runs[0]
        return f"{name}: {runs:,} simulated rounds"
    return "\nvs ".join(f"{name} ({runs:,} rounds)" for name, runs in names_and_runs)


def legend_columns(labels: list[str], width: int = 90) -> int:
    """As many legend columns as fit ``width`` characters of labels side by side."""
    longest = max((len(label) for label in labels), default=1) + 6
    return max(1, min(len(labels), width // longest))


def save_figure(figure: Figure, folder: Path, stem: str) -> list[Path]:
    """Write ``<stem>.png`` and ``<stem>.svg`` into ``folder``; the paths written."""
    make_folder(folder)
    paths = []
    with house_style():
        _fix_layout(figure)
        for fmt in FORMATS:
            path = folder / f"{stem}.{fmt}"
            write_atomically(path, partial(figure.savefig, format=fmt, dpi=DPI,
                                           facecolor="white", **_FILE_OPTIONS[fmt]))
            paths.append(path)
    return paths


def _fix_layout(figure: Figure) -> None:
    """Run the constrained layout once and keep its positions, so that writing the
    same figure in two formats does not lay it out twice (it is the slow part)."""
    engine = figure.get_layout_engine()
    if engine is not None and type(engine).__name__ == "ConstrainedLayoutEngine":
        engine.execute(figure)
        figure.set_layout_engine("none")


def percent_axis(axis) -> None:
    """Percent ticks on 1-2-5 steps, each with the decimals it needs (so that no tick at
    2.5% reads "2%", and a range under 1% is not all "0%")."""
    axis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))
    axis.set_major_formatter(StrMethodFormatter("{x:g}%"))


def note(ax, text: str) -> None:
    """A message in the middle of a panel that has nothing to draw (so no panel is
    left empty without saying why)."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color=GREY,
            wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def typographic(label: str) -> str:
    """A label with typographic signs (\u2265 for >=, \u2264 for <=)."""
    return label.replace(">=", "\u2265").replace("<=", "\u2264")
