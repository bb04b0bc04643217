"""``negsim discover RESULTS --event EVENT``: which ranges of a batch's drawn inputs
make an event likely (PRIM scenario discovery, ``sim.studies.discover``)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from sim.cli.common import UsageError, integer_at_least
from sim.fileio import make_folder, write_atomically
from sim.report.output import FIGURES_FOLDER
from sim.studies.discover import (
    MASS_MIN,
    SAMPLE,
    SAMPLE_SEED,
    THRESHOLD,
    DiscoverError,
    Discovery,
    boxes_table,
    check_event,
    discovery_record,
    find_boxes,
    find_event,
    load_rounds,
    open_batch,
)
from sim.terminal import printable
from sim.viz.discover import discovery_figure, number
from sim.viz.style import save_figure

JSON, CSV, FIGURE = "discover.json", "boxes.csv", "discover"


def share(name: str, low_open: bool, high: float) -> Callable[[str], float]:
    """An argparse type: a number in (0, ``high``] (``low_open``) or [0, ``high``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None
        inside = 0 < value <= high if low_open else 0 < value < high
        if not inside:
            bounds = f"(0, {high:g}]" if low_open else f"(0, {high:g})"
            raise argparse.ArgumentTypeError(f"{name} must be within {bounds}, got {text}")
        return value

    return parse


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "discover", help="which ranges of the drawn inputs make an event likely (PRIM)",
        description="Scenario discovery by PRIM (Friedman & Fisher 1999) on a batch's "
        "inputs/ and results/: the box of input ranges in which an event's rate reaches "
        "the threshold while holding as many of its rounds as it can. Needs pip install "
        "'negsim[discover]'.")
    parser.add_argument("results", help="results folder of negsim run, sweep or sensitivity "
                        "(with its inputs/), e.g. results/river-basin")
    parser.add_argument("--event", required=True,
                        help="an event of the batch's scenario, e.g. walkout")
    parser.add_argument("--threshold", type=share("--threshold", True, 1.0), default=THRESHOLD,
                        help="the event's rate the chosen box must reach (its density; "
                        f"default {THRESHOLD:g}); of the boxes that do, the one holding the "
                        "most of the event's rounds is chosen")
    parser.add_argument("--mass-min", type=share("--mass-min", False, 1.0), default=MASS_MIN,
                        help="PRIM stops peeling below this share of the rounds in the box "
                        f"(default {MASS_MIN:g}); lower it for a rare event")
    parser.add_argument("--sample", type=integer_at_least("--sample", 2), default=SAMPLE,
                        help=f"read at most this many rounds (default {SAMPLE:,}), drawn "
                        f"without replacement with seed {SAMPLE_SEED}: the same sample "
                        "every time")
    parser.add_argument("--scenario", help="scenario file, where not the one the folder's "
                        "manifest.json names (e.g. the folder was moved)")
    parser.add_argument("--out", help=f"folder for {JSON}, {CSV} and {FIGURES_FOLDER}/"
                        f"{FIGURE}.png and .svg (default: the results folder)")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    try:
        batch = open_batch(args.results, args.scenario)
        event = find_event(batch, args.event)
        rounds = load_rounds(batch, event, args.sample)
        check_event(rounds, event, batch.folder)
        discovery = find_boxes(rounds.inputs, rounds.event, args.threshold, args.mass_min)
    except DiscoverError as error:
        raise UsageError(str(error)) from None
    if batch.changed:
        print(f"negsim: note: {printable(batch.scenario_file)} has changed since the batch "
              "ran: its events are read as they are now", file=sys.stderr)
    out = Path(args.out) if args.out else batch.folder
    record = discovery_record(discovery, batch, event, rounds, args.sample, args.mass_min)
    make_folder(out)
    write_atomically(out / JSON, json.dumps(record, indent=2) + "\n")
    write_atomically(out / CSV, boxes_table(discovery).to_csv(index=False))
    figure = discovery_figure(discovery, batch.scenario.round.name, event.label, rounds.total)
    paths = save_figure(figure, out / FIGURES_FOLDER, FIGURE)
    print(format_discovery(discovery, batch.scenario.round.name, event.name, event.label,
                           rounds.total))
    print(f"\nwrote {out / JSON}, {out / CSV} (every box of the trajectory), "
          f"{' and '.join(str(p) for p in paths)}")
    return 0


def format_discovery(discovery: Discovery, scenario: str, event: str, label: str,
                     rounds: int) -> str:
    """The chosen box as a table for people (names from files escaped)."""
    seen = "all of them" if discovery.rounds == rounds else f"{discovery.rounds:,} of them"
    box = discovery.box
    lines = [f"{printable(scenario)}: {rounds:,} simulated rounds, PRIM on {seen}",
             f"event: {printable(label)} ({printable(event)}), in "
             f"{100 * discovery.base_rate:.1f}% of the rounds", ""]
    if discovery.threshold_met:
        why = f"the largest coverage with density >= {100 * discovery.threshold:g}%"
    else:
        why = (f"no box reaches density {100 * discovery.threshold:g}%: the densest "
               "(lower --threshold, or --mass-min for a rare event)")
    lines += [f"box {box.id} of {len(discovery.boxes)} ({why}):",
              f"  coverage {100 * box.coverage:.1f}%  density {100 * box.density:.1f}%  "
              f"mass {100 * box.mass:.1f}%", ""]
    if not box.limits:
        lines.append("it restricts no input: the event's rate over all rounds reaches the "
                     "threshold")
        return "\n".join(lines)
    names = [printable(limit.input) for limit in box.limits]
    spans = [lim.full_high - lim.full_low for lim in box.limits]
    ranges = [f"{number(lim.low, span)} - {number(lim.high, span)}"
              for lim, span in zip(box.limits, spans, strict=True)]
    fulls = [f"{number(lim.full_low, span)} - {number(lim.full_high, span)}"
             for lim, span in zip(box.limits, spans, strict=True)]
    width = max(len("input"), *map(len, names))
    box_width = max(len("box range"), *map(len, ranges))
    full_width = max(len("full range"), *map(len, fulls))
    lines.append(f"{'input':<{width}}  {'box range':<{box_width}}  {'full range':<{full_width}}"
                 "  quasi-p (low, high)")
    for name, in_box, full, limit in zip(names, ranges, fulls, box.limits, strict=True):
        quasi_p = ", ".join(_quasi_p(p) for p in (limit.qp_low, limit.qp_high))
        lines.append(f"{name:<{width}}  {in_box:<{box_width}}  {full:<{full_width}}  {quasi_p}")
    return "\n".join(lines)


def _quasi_p(value: float | None) -> str:
    """A quasi-p-value: "-" where that side is not restricted; one under the smallest
    double (it underflowed) as such."""
    if value is None:
        return "-"
    return f"{value:.1e}" if value > 0 else "< 1e-300"
