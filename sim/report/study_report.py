"""Reports of sweep and sensitivity folders (``negsim sweep``, ``negsim sensitivity``):
their figure from ``points.csv`` or ``sobol.csv``, and the table it was drawn from.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from sim.batch.results import ResultsError, read_manifest
from sim.fileio import write_atomically
from sim.report.html import Block, FigureBlock, Heading, Paragraph, Table, to_html, to_markdown
from sim.report.output import FIGURES_FOLDER
from sim.viz.studies import sensitivity_figure, sweep_events, sweep_figure
from sim.viz.style import save_figure

STUDIES = ("sweep", "sensitivity")


def study_kind(folder: Path) -> str | None:
    """``sweep`` or ``sensitivity`` for the folders of those commands, else None."""
    kind = read_manifest(folder).get("kind")
    return kind if kind in STUDIES else None


def _read(folder: Path, name: str) -> tuple[dict, pd.DataFrame]:
    try:
        summary = json.loads((folder / "summary.json").read_text())
        table = pd.read_csv(folder / name)
    except FileNotFoundError as error:
        raise ResultsError(f"{error.filename}: missing; the {study_kind(folder)} did not "
                           "finish (rerun it with --resume)") from None
    except (OSError, ValueError) as error:
        raise ResultsError(f"{folder}: cannot read its {name} or summary.json ({error})") \
            from None
    return summary, table


def _write(folder: Path, title: str, blocks: list[Block], figure_paths: list[Path]
           ) -> list[Path]:
    markdown, page = folder / "report.md", folder / "report.html"
    write_atomically(markdown, to_markdown(blocks, folder))
    write_atomically(page, to_html(blocks, title))
    return [*figure_paths, markdown, page]


def sweep_knobs(table: pd.DataFrame) -> list[str]:
    """The knob columns of a sweep table: those between ``point`` and ``runs``."""
    columns = list(table.columns)
    return columns[columns.index("point") + 1:columns.index("runs")]


def write_sweep_report(folder: Path) -> list[Path]:
    """The sweep's figure (outcome against the first knob, lines by the second on a
    grid; points alone for a Latin hypercube, whose other knobs vary too) and report."""
    summary, table = _read(folder, "points.csv")
    knobs = sweep_knobs(table)
    grid = summary.get("design", "grid") == "grid" and len(knobs) <= 2
    figure = sweep_figure(table, knobs[0], summary["scenario"],
                          by=knobs[1] if grid and len(knobs) == 2 else None, connect=grid,
                          labels=summary.get("labels"))
    paths = save_figure(figure, folder / FIGURES_FOLDER, "sweep")
    events = sweep_events(table)
    rows = tuple(tuple(f"{v:g}" for v in row[knobs]) + (f"{int(row['runs']):,}",) + tuple(
        f"{100 * row[f'{e}.p']:.1f}%" for e in events) for _, row in table.iterrows())
    blocks: list[Block] = [
        Heading(1, f"{summary['scenario']}: sweep"),
        Paragraph(f"{summary.get('design', 'grid')} design over {', '.join(knobs)}: "
                  f"{len(table)} design points, {int(table['runs'].sum()):,} simulated "
                  f"rounds, seed {summary.get('seed')}; sweep file {summary.get('sweep')}.",
                  note=True),
        FigureBlock("Outcomes against the knobs", "Each event's probability at each design "
                    "point, with its 95% Wilson interval as a band.", paths[0], paths[1]),
        Table((*knobs, "rounds", *events), rows,
              numeric=tuple(range(len(knobs) + 1 + len(events))))]
    return _write(folder, f"{summary['scenario']}: sweep", blocks, paths)


def write_sensitivity_report(folder: Path) -> list[Path]:
    """The Sobol indices as bars with their intervals, and the table of indices."""
    summary, table = _read(folder, "sobol.csv")
    runs = int(summary.get("points", 0)) * int(summary.get("replicates", 0))
    figure = sensitivity_figure(table, summary["scenario"], runs, labels=summary.get("labels"))
    paths = save_figure(figure, folder / FIGURES_FOLDER, "sobol")

    def index(value: float, half: float) -> str:
        return "" if np.isnan(value) else f"{value:.2f} \u00b1 {half:.2f}"

    rows = tuple((r.outcome, r.parameter, index(r.S1, r.S1_ci95), index(r.ST, r.ST_ci95),
                  "" if pd.isna(getattr(r, "note", "")) else str(getattr(r, "note", "")))
                 for r in table.itertuples(index=False))
    blocks: list[Block] = [
        Heading(1, f"{summary['scenario']}: sensitivity"),
        Paragraph(f"Sobol indices over {summary.get('points')} design points of "
                  f"{summary.get('replicates')} simulated rounds each ({runs:,} in all), "
                  f"seed {summary.get('seed')}; file {summary.get('sensitivity')}.",
                  note=True),
        FigureBlock("Sobol indices", "First-order (S1) and total (ST) index of each "
                    "parameter for each outcome, with 95% intervals (SALib).", paths[0],
                    paths[1]),
        Table(("outcome", "parameter", "S1", "ST", "note"), rows, numeric=(2, 3))]
    return _write(folder, f"{summary['scenario']}: sensitivity", blocks, paths)
