"""What ``report.md`` and ``report.html`` say, in order: a plain-language summary from
the numbers, the tables of ``summary.json``, the figures, then the scenario's
assumptions (where its parameters come from, what it shifts and changes, every key).
"""

from __future__ import annotations

from pathlib import Path

from sim.batch.results import RunResults, read_manifest
from sim.fileio import write_atomically
from sim.report.assumptions import scenario_assumptions
from sim.report.html import (
    Block,
    Bullets,
    FigureBlock,
    Heading,
    Paragraph,
    Table,
    to_html,
    to_markdown,
)
from sim.report.identified import unidentified_parameters
from sim.report.narrative import number, summary_text
from sim.report.output import FIGURES_FOLDER, ZONE_DRAWS, run_figures
from sim.stats.numbers import percent, percent_interval, whole
from sim.stats.summary import QUANTILES
from sim.viz.style import save_figure

#: Figure file stem -> (title, caption) in the report.
FIGURE_TEXT = {
    "event-probabilities": (
        "Probability of each outcome",
        "Each point is the share of simulated rounds in which the event happened; its bar "
        "is the 95% Wilson interval, the Monte Carlo noise of that share."),
    "outcome-distributions": (
        "Distribution of outcomes",
        "The value agreed on each count and share issue (in the rounds that agreed it) "
        "and the duration of the round (all rounds). Lines and hatched bands mark what "
        "the scenario reports of real rounds ([[observed]]), where it reports any."),
    "round-timeline": (
        "How a round unfolds",
        "For each event that reads one issue, the share of all rounds in which it holds "
        "with that issue agreed by minute t (each line ends at the event's probability "
        "in the table); the thick grey line is the share of rounds already over."),
    "zone-of-agreement": (
        "Zone of agreement per issue",
        f"Each side's ideal (dot) and red line (tick): the median over {ZONE_DRAWS:,} fresh "
        "draws of the scenario's parameters, with whiskers over the middle 90% of draws. "
        "The hatched band between them is what the side accepts; the grey area is the zone "
        "of agreement where the bands overlap (the median zone of the draws that have one); "
        "black bars show where the simulated agreements landed (their height: the share of "
        "the agreements on that issue; each panel's title says how often it was agreed at "
        "all)."),
}


def _meta(run: RunResults) -> str:
    summary = run.summary
    text = f"{whole(run.runs)} simulated rounds, seed {summary['seed']}"
    if summary.get("scenario_file"):
        text += f"; scenario file {summary['scenario_file']}"
    if summary.get("scenario_sha256"):
        text += f" (sha256 {summary['scenario_sha256'][:12]})"
    return text + "."


def summary_blocks(summary: dict) -> list[Block]:
    """The plain-language summary, then the two tables of ``summary.json``."""
    text = summary_text(summary)
    blocks: list[Block] = [Heading(2, "Summary"), Paragraph(text["lead"]),
                           Bullets(tuple(text["events"]))]
    blocks += [Paragraph(sentence) for sentence in text["after"]]
    failed = (summary.get("failures") or {}).get("count", 0)
    if failed:
        blocks.append(Paragraph(f"{whole(failed)} rounds raised an error in the model and "
                                "are left out of every number here."))
    blocks.append(Paragraph(text["caveat"], note=True))
    drawn = any(e.get("parameter_p10") is not None for e in summary["events"].values())
    events = []
    for event in summary["events"].values():
        label = event["label"]
        across = (percent_interval(event["parameter_p10"], event["parameter_p90"])
                  if event.get("parameter_p10") is not None else "")
        if event["on_agenda"] and event["p"] is not None:
            events.append((label, percent(event["p"]), percent_interval(*event["ci95"]),
                           *((across,) if drawn else ()), whole(event["count"])))
        else:
            events.append((label, "", "not on the agenda", *(("",) if drawn else ()), ""))
    header = ("event", "probability", "95% interval",
              *(("across posterior draws, 10-90%",) if drawn else ()), "rounds")
    blocks += [Heading(3, "Outcomes"),
               Table(header, tuple(events), numeric=tuple(range(1, len(header))))]
    if drawn:
        blocks.append(Paragraph(
            "Two kinds of uncertainty: the 95% interval is how sure the simulated "
            "probability is given the parameters' distribution (more rounds narrow it); "
            "the range across posterior draws is how much the probability itself varies "
            "over the parameter values the calibration left open (the 10th to 90th "
            "percentile of per-draw probabilities, binomial noise taken out: more rounds "
            "do not narrow it, only more evidence would).", note=True))
    quantities = []
    for q in summary["quantiles"].values():
        quantities.append((q["label"], whole(q["n"]), *(
            "" if q[key] is None else number(q[key]) for key in QUANTILES)))
    blocks.append(Table(("quantity", "rounds", *QUANTILES), tuple(quantities),
                        numeric=tuple(range(1, 2 + len(QUANTILES)))))
    return blocks


def figure_blocks(figures: dict[str, list[Path]]) -> list[Block]:
    """The figures written (by stem), PNG inline and SVG linked."""
    blocks: list[Block] = [Heading(2, "Figures")]
    for stem, paths in figures.items():
        title, caption = FIGURE_TEXT.get(stem, (stem, ""))
        png = next(p for p in paths if p.suffix == ".png")
        svg = next((p for p in paths if p.suffix == ".svg"), None)
        blocks.append(FigureBlock(title, caption, png, svg))
    return blocks


def _shift_text(scale: float, add: float) -> str:
    parts = ([f"\u00d7 {scale:g}"] if scale != 1 else []) + ([f"{add:+g}"] if add else [])
    return " then ".join(parts) or "none"


def _posterior_text(used: dict) -> str:
    parameters = ", ".join(used.get("parameters") or []) or "(not listed)"
    particles = used.get("particles")
    return (f"Calibrated parameters were drawn from the posterior {used.get('file')} "
            f"(sha256 {str(used.get('sha256'))[:12]}"
            + (f", {particles:,} particles" if isinstance(particles, int) else "")
            + "), one particle per simulated round by weight (its id is the draw_id column "
            f"of the results): {parameters}. Every other parameter is the scenario file's.")


def _unidentified_text(flag: dict, drawn: int) -> str:
    names = flag.get("parameters") or []
    source = flag.get("source", "the calibration's checks")
    if not names:
        return (f"Every one of the {drawn} parameters drawn from the posterior was informed "
                f"by the calibration's data ({source}).")
    return (f"Not pinned down by the data: {len(names)} of the {drawn} parameters drawn "
            f"from the posterior stay near their prior in the calibration ({source}), so "
            "what this report says about them rests on the priors, not on evidence: "
            + ", ".join(names) + ".")


def source_blocks(run: RunResults) -> list[Block]:
    """Where the parameters came from: the posterior (or none) and the shifts, as
    ``summary.json`` or ``manifest.json`` record them (else as the scenario now says);
    any sign that the files changed since the batch ran."""
    scenario, summary = run.scenario, run.summary
    recorded = summary.get("parameters") or read_manifest(run.folder).get("parameters")
    sources = recorded if isinstance(recorded, dict) else scenario.parameter_sources()
    blocks: list[Block] = [Heading(3, "Where the parameters come from")]
    if summary.get("scenario_sha256") and summary["scenario_sha256"] != scenario.sha256:
        blocks.append(Paragraph(
            "The scenario file has changed since this batch ran (its sha256 differs from "
            "the one in summary.json): the keys listed below are the file as it is now.",
            note=True))
    used = sources.get("posterior")
    if used:
        blocks.append(Paragraph(_posterior_text(used)))
        flag = sources.get("unidentified") if "unidentified" in sources else (
            unidentified_parameters(used))
        if flag is not None:
            blocks.append(Paragraph(_unidentified_text(flag, len(used.get("parameters")
                                                                 or []))))
    else:
        blocks.append(Paragraph(
            "No posterior: every parameter is the scenario file's value, or, where the "
            "file gives a [low, high] range, drawn uniformly from it for each simulated "
            "round."))
    ran_with = read_manifest(run.folder).get("posterior_sha256") or (used or {}).get("sha256")
    now = scenario.posterior.sha256 if scenario.posterior is not None else None
    if ran_with != now:
        blocks.append(Paragraph(
            "The posterior the scenario names has changed since this batch ran "
            f"(then: {str(ran_with)[:12]}, now: {str(now)[:12]}).", note=True))
    shifts = sources.get("shifts") or []
    if shifts:
        blocks += [Paragraph("Shifts applied to drawn values (then clipped to the allowed "
                             "range):"),
                   Table(("parameter", "change", "why"), tuple(
                       (s["key"], _shift_text(s.get("scale", 1), s.get("add", 0)),
                        s.get("why", "")) for s in shifts))]
    return blocks


def assumption_blocks(run: RunResults) -> list[Block]:
    """The scenario's description, parameter sources, changes from its base and every
    key it sets, each with the reason written beside it in the file."""
    scenario = run.scenario
    if scenario is None:
        return [Heading(2, "Assumptions"), Paragraph("The scenario file is unknown.")]
    description, rows, base = scenario_assumptions(scenario.path)
    blocks: list[Block] = [Heading(2, "Assumptions"),
                           Paragraph(f"Scenario file {scenario.path}. {description}".strip())]
    blocks += source_blocks(run)
    drawn_from_posterior = set(scenario.posterior.keys) if scenario.posterior else set()
    rows = [r for r in rows if not r.key.startswith(("shift", "posterior."))]
    changed = [r for r in rows if r.base_value is not None and r.key != "round.name"]
    if base and changed:
        blocks += [Heading(3, f"What this scenario changes from {base}"),
                   Table(("parameter", "here", f"in {base}", "reason"), tuple(
                       (r.key, r.value, r.base_value, r.reason) for r in changed))]

    def how(row) -> str:
        parts = row.key.split(".")
        if parts[0] == "parties" and len(parts) > 4 and parts[2] == "issues" and (
                parts[3] not in scenario.agenda):
            return "not on this round's agenda"
        if row.key in drawn_from_posterior:
            return "from the posterior (this value unused)"
        return "range, drawn per round" if row.drawn else ""

    blocks += [Heading(3, "Every parameter of the scenario"),
               Table(("parameter", "value", "how", "reason"), tuple(
                   (r.key, r.value, how(r), r.reason) for r in rows),
                   folded=f"{len(rows)} keys, with the reasons written in the file")]
    return blocks


def report_blocks(run: RunResults, figures: dict[str, list[Path]]) -> list[Block]:
    """The whole report."""
    return [Heading(1, run.name), Paragraph(_meta(run), note=True),
            *summary_blocks(run.summary), *figure_blocks(figures), *assumption_blocks(run),
            Paragraph("Made by negsim report from summary.json and the per-round results "
                      "in this folder; the figures are also in figures/ (PNG and SVG).",
                      note=True)]


def write_report(run: RunResults, folder: Path) -> list[Path]:
    """(Re)make the figures into ``folder/figures``, then write ``report.md`` and the
    self-contained ``report.html`` into ``folder``; the paths written."""
    figures = {stem: save_figure(figure, folder / FIGURES_FOLDER, stem)
               for stem, figure in run_figures([run]).items()}
    blocks = report_blocks(run, figures)
    markdown, page = folder / "report.md", folder / "report.html"
    write_atomically(markdown, to_markdown(blocks, folder))
    write_atomically(page, to_html(blocks, f"{run.name}: negsim report"))
    return [path for paths in figures.values() for path in paths] + [markdown, page]
