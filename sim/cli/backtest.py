"""``negsim backtest``: every round of the track record forecast from a fit on the
rounds before it, scored beside the baselines (``sim.calibration.backtest``).

Writes into ``--out DIR`` (default ``results/backtest``): ``backtest.json`` (each
forecaster's mean Brier, log score and CRPS), ``scores.parquet`` (one row per round,
target and forecaster), ``backtest.md`` and ``figures/backtest-reliability`` (PNG and
SVG). With ``--write-committed``, into the record's folder (``calibration/``), the
scores as ``backtest-scores.parquet``. ``backtest.json`` also holds ``campaign``: the
rhythm of rounds backtested on the record of rounds (``--meetings``, default
``meetings.toml`` beside the record; ``sim.campaign.rhythm.backtest_rhythm``), every
origin whatever ``--until`` says (its own record, scored in a second). Everything is
computed before anything is written; the same command writes the same bytes (no time
or date in any file).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from sim.calibration.backtest import BacktestSettings, reliability, rolling_origin, summary
from sim.calibration.hierarchy_priors import load_track_priors
from sim.calibration.track_record import load_track_record
from sim.campaign.rhythm import backtest_rhythm, load_meetings
from sim.campaign.rhythm_report import campaign_entry
from sim.cli.calibrate_track import PRIORS, load_text
from sim.cli.common import UsageError, integer_at_least
from sim.fileio import write_atomically
from sim.report.backtest import render
from sim.viz.backtest import reliability_figure
from sim.viz.style import save_figure

DEFAULT_OUT = Path("results/backtest")
RECORD = "calibration/track-record.toml"
DEFAULTS = BacktestSettings()
FIGURE = "backtest-reliability"


def register(commands: argparse._SubParsersAction) -> None:
    b = commands.add_parser(
        "backtest", help="forecast each round of the track record from a fit on the "
        "rounds before it, and score it against what happened and the baselines")
    b.add_argument("--record", default=RECORD,
                   help="the track record (default %(default)s)")
    b.add_argument("--meetings", help="the record of rounds the campaign's rhythm is "
                   "backtested on (default meetings.toml beside the record)")
    b.add_argument("--priors", help="its hierarchical priors (default track-priors.toml "
                   "beside the record)")
    b.add_argument("--out", metavar="DIR",
                   help=f"folder for backtest.json, scores.parquet, backtest.md and "
                   f"figures/ (default {DEFAULT_OUT})")
    b.add_argument("--write-committed", action="store_true",
                   help="write into the record's folder (calibration/): backtest.md, "
                   "backtest.json, backtest-scores.parquet and the figure")
    b.add_argument("--particles", type=integer_at_least("--particles", 20),
                   default=DEFAULTS.particles,
                   help="particles of each fit (default %(default)s)")
    b.add_argument("--generations", type=integer_at_least("--generations", 1),
                   default=DEFAULTS.generations,
                   help="most generations of each fit (default %(default)s)")
    b.add_argument("--runs", type=integer_at_least("--runs", 50), default=DEFAULTS.runs,
                   help="simulated rounds of each forecast (default %(default)s)")
    b.add_argument("--seed", type=integer_at_least("--seed", 0), default=DEFAULTS.seed)
    b.add_argument("--until", metavar="ROUND",
                   help="score the rounds up to this one (its key, e.g. a04) and no later: "
                   "a round's forecast rests on the rounds before it alone, so its scores "
                   "are those of the whole backtest (default: every round)")
    b.set_defaults(handler=main)


def outputs(args: argparse.Namespace) -> tuple[Path, str]:
    """The folder to write into and the scores' file name, checked before anything
    runs: the committed folder (the record's) only with ``--write-committed``."""
    committed = Path(args.record).parent
    if args.write_committed:
        if args.out is not None:
            raise UsageError("--out and --write-committed: give one (--write-committed "
                             f"writes into {committed})")
        if args.until is not None:
            raise UsageError("--until and --write-committed: the committed backtest scores "
                             "every round")
        return committed, "backtest-scores.parquet"
    out = DEFAULT_OUT if args.out is None else Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    if out.resolve() == committed.resolve():
        raise UsageError(f"--out {out}: holds the committed backtest; pass "
                         "--write-committed (without --out) to replace it")
    return out, "scores.parquet"


def command_line(args: argparse.Namespace) -> str:
    """The command that makes these files, as written into backtest.md."""
    parts = ["negsim backtest"]
    if args.record != RECORD:
        parts.append(f"--record {args.record}")
    for name, default in (("particles", DEFAULTS.particles),
                          ("generations", DEFAULTS.generations), ("runs", DEFAULTS.runs),
                          ("seed", DEFAULTS.seed)):
        if getattr(args, name) != default:
            parts.append(f"--{name} {getattr(args, name)}")
    if args.until is not None:
        parts.append(f"--until {args.until}")
    return " ".join(parts) + (" --write-committed" if args.write_committed else "")


def scored_rounds(rounds: tuple, until: str | None) -> tuple:
    """The record's rounds up to ``until`` (a round's key), or all of them."""
    if until is None:
        return rounds
    keys = [r.key for r in rounds]
    if until not in keys:
        raise UsageError(f"--until {until}: not a round of the record (its rounds: "
                         + ", ".join(keys) + ")")
    return rounds[:keys.index(until) + 1]


def _note(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(args: argparse.Namespace) -> int:
    out, scores_name = outputs(args)
    record = load_track_record(args.record)
    meetings_file = Path(args.meetings) if args.meetings else \
        Path(args.record).parent / "meetings.toml"
    meetings = load_meetings(meetings_file)  # checked before the long run
    priors = Path(args.priors) if args.priors else Path(args.record).parent / PRIORS
    prior, _ = load_track_priors(priors, record)
    settings = BacktestSettings(particles=args.particles, generations=args.generations,
                                runs=args.runs, seed=args.seed)
    start, cpu = time.perf_counter(), time.process_time()
    rounds = scored_rounds(record.rounds, args.until)
    done = rolling_origin(rounds, prior, settings, progress=_note)
    result = summary(done.scores)
    rhythm_table, rhythm_summary = backtest_rhythm(meetings)
    result["campaign"] = campaign_entry(rhythm_table, rhythm_summary,
                                        meetings_file.as_posix())
    fitted = {f["round"]: f["fitted_on"] for f in done.fits}
    about = {"command": command_line(args), "particles": settings.particles,
             "generations": settings.generations, "runs": settings.runs,
             "seed": settings.seed,
             "rounds": {r.key: (r.name, r.date.isoformat(), fitted[r.key])
                        for r in rounds}}
    points = {"model": reliability(done.scores), "base_rate": reliability(done.scores,
                                                                          "base_rate")}
    events = int((done.scores["kind"] == "event").sum()) // 4
    figure = reliability_figure(points, len(result["rounds"]), events)
    paths = (out / "figures" / f"{FIGURE}.png", out / "figures" / f"{FIGURE}.svg")
    text = render(done.scores, done.skipped, about, out, paths, scores_name)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    save_figure(figure, out / "figures", FIGURE)
    write_atomically(out / scores_name,
                     lambda p: done.scores.to_parquet(p, index=False, compression="zstd"))
    write_atomically(out / "backtest.json", json.dumps(result, indent=2) + "\n")
    write_atomically(out / "backtest.md", text)
    print(f"scored {len(result['rounds'])} rounds in {seconds:.0f} s ({cpu_seconds:.0f} s "
          f"of CPU; {load_text()})")
    print(f"{'forecaster':<12}{'Brier':>8}{'log':>8}{'CRPS':>10}")
    for name, values in result["forecasters"].items():
        cells = "".join(f"{'-' if v is None else f'{v:.3f}':>{w}}"
                        for v, w in zip(values.values(), (8, 8, 10), strict=True))
        print(f"{name:<12}{cells}")
    rhythm = result["campaign"]["forecasters"]
    print(f"the rhythm of rounds, {len(result['campaign']['origins'])} gaps: log "
          f"{rhythm['model']['log']:.3f} (exponential {rhythm['exponential']['log']:.3f}), "
          f"CRPS {rhythm['model']['crps']:.1f} days ({rhythm['exponential']['crps']:.1f})")
    if done.skipped:
        print(f"{len(done.skipped)} events not scored (not observed, or left open by a "
              "range): listed in backtest.md")
    print(f"wrote {out / 'backtest.json'}, {out / scores_name}, {out / 'backtest.md'} and "
          f"{out / 'figures' / FIGURE} (PNG and SVG)")
    return 0
