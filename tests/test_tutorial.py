"""docs/tutorial.md is a set of claims: every ```sh command runs (as written, in a
scratch folder like the project's), every ```python block runs, and every number, level,
order or yes/no the page says a command prints is read from the page and compared with
what that command printed. The commands run once per module (the claims share them);
the page is never copied here: a claim is found by a phrase of the page and its numbers
(in bold) are read from it, so an edit of the page or a change of the engine that makes
them disagree fails here."""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import shlex
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import build_parser, main
from sim.scenario.load import load_scenario

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "tutorial.md"
DOC = TUTORIAL.read_text()
FLAT_DOC = " ".join(DOC.split())


def blocks(language: str) -> list[str]:
    """The bodies of the page's fenced blocks in ``language`` ("" for untyped ones)."""
    found, current, body = [], None, []
    for line in DOC.splitlines():
        if line.startswith("```") and current is None:
            current, body = line[3:].strip(), []
        elif line.startswith("```"):
            if current == language:
                found.append("\n".join(body) + "\n")
            current = None
        elif current is not None:
            body.append(line)
    return found


def commands() -> list[str]:
    """Every command line of the page's ```sh blocks, as written."""
    found = []
    for block in blocks("sh"):
        for line in block.splitlines():
            if line.strip() and not line.startswith("#"):
                assert shlex.split(line)[0] == "negsim", line
                found.append(line)
    return found


def flat(text: str) -> str:
    """Text with its line wrapping undone (the trace wraps at the terminal's width)."""
    return " ".join(text.split())


def number(text: str) -> float:
    return float(text.replace(",", "").rstrip("%"))


def claimed(phrase: str, count: int) -> list[float]:
    """The first ``count`` bold numbers of the page from ``phrase`` on (to the next code
    block after it): what the page says a command shows."""
    start = FLAT_DOC.index(flat(phrase))
    end = FLAT_DOC.find("```", start + len(flat(phrase)))
    found = re.findall(r"\*\*([-\d,.]+)(?:%|st|nd|rd|th)?\*\*",
                       FLAT_DOC[start:end if end > 0 else None])
    assert len(found) >= count, (phrase, found)
    return [number(x) for x in found[:count]]


# --------------------------------------------------------------------- running them
@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """Every command's exit code and output, run once, in a folder like the project's:
    the scenarios (and the calibration they draw from) linked in, docs/figures empty.
    A batch runs on one worker (the same rows as on many: tests/test_batch.py)."""
    scratch = tmp_path_factory.mktemp("tutorial")
    for name in ("scenarios", "calibration"):
        (scratch / name).symlink_to(ROOT / name)
    (scratch / "docs" / "figures").mkdir(parents=True)
    here = Path.cwd()
    os.chdir(scratch)
    outputs = {}
    try:
        for line in commands():
            argv = shlex.split(line)[1:]
            if argv[0] == "dashboard":
                continue  # a server: tests/test_dashboard.py serves it and drives it
            if argv[0] == "run":
                argv += ["--workers", "1"]
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(argv)
            outputs[line] = (code, out.getvalue(), err.getvalue())
    finally:
        os.chdir(here)
    outputs["folder"] = scratch
    return outputs


def output(printed, *words: str) -> str:
    """The flattened output of the one command whose line holds every one of ``words``."""
    lines = [line for line in commands() if all(w in line for w in words)]
    assert len(lines) == 1, (words, lines)
    code, out, err = printed[lines[0]]
    assert code == 0, err
    return flat(out)


def ending(printed, tail: str) -> str:
    """The flattened output of the one command whose line ends with ``tail``."""
    lines = [line for line in commands() if line.endswith(tail)]
    assert len(lines) == 1, (tail, lines)
    code, out, err = printed[lines[0]]
    assert code == 0, err
    return flat(out)


def deal(text: str) -> tuple[float, float]:
    """An item-by-item trace's agreement: (minute, value)."""
    found = re.search(r"(\d+) Offers [^;]+; [^;]+ proposes [\d,]+; every side accepts: "
                      r".+? agreed at ([\d,]+)", text)
    assert found, text[-400:]
    return number(found[1]), number(found[2])


def ends(text: str) -> float:
    return number(re.search(r"The round ends after (\d+) minutes", text)[1])


def parked(text: str) -> float:
    return number(re.search(r"(\d+) \S+(?: \S+)? parks the ", text)[1])


def share(text: str, label: str) -> float:
    """An event's share in `negsim run`'s table."""
    return number(re.search(rf"{re.escape(label)} ([\d.]+)%", text)[1])


CLASSROOM = "scenarios/classroom-two-party.toml"


# ------------------------------------------------------------------- every command
def test_the_tutorial_has_commands_and_python():
    assert len(commands()) >= 30 and len(blocks("python")) >= 2


@pytest.mark.parametrize("line", commands(), ids=lambda line: line[7:67])
def test_command_runs(line, printed):
    argv = shlex.split(line)[1:]
    if argv[0] == "dashboard":
        args = build_parser(argv).parse_args(argv)  # parses, and its scenario loads
        load_scenario(args.scenario)
        return
    code, out, err = printed[line]
    assert code == 0, err
    assert out.strip()
    for option in ("--figure", "--frontier"):
        if option in argv:
            figure = printed["folder"] / argv[argv.index(option) + 1]
            assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("source", blocks("python"), ids=lambda s: s.splitlines()[0][:40])
def test_python_block_runs(source):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, str(TUTORIAL), "exec"), {})
    assert out.getvalue().strip()


def test_figures_are_committed_and_made_by_the_commands_shown():
    made = set()
    for line in commands():
        argv = shlex.split(line)
        made |= {argv[argv.index(o) + 1] for o in ("--figure", "--frontier") if o in argv}
    shown = set(re.findall(r"!\[[^\]]*\]\((figures/[^)]+)\)", DOC))
    assert {f"docs/{name}" for name in shown} == made
    for name in made:
        assert (ROOT / name).is_file(), name


def test_the_quoted_trace_is_what_the_trace_prints(printed):
    """The untyped block of section 1 is an excerpt of the classroom trace."""
    quoted = [block for block in blocks("") if "Midland" in block]
    assert len(quoted) == 1
    for block in quoted:
        assert flat(block) in ending(printed, f"trace {CLASSROOM}")


# ------------------------------------------------------------------ 1-2: red lines, zone
def test_red_lines_and_the_zone(printed):
    plain = ending(printed, f"trace {CLASSROOM}")
    assert parked(plain) == claimed("parks the item in minute", 1)[0]
    (red_line,) = claimed("its red line for the round is", 1)[-1:]
    assert f"Southland no more than {red_line:,.0f}" in plain
    low, high = (number(x) for x in re.search(r"zone is \*\*\[([\d,]+), ([\d,]+)\]\*\*",
                                               FLAT_DOC).groups())
    assert f"a zone of agreement from {low:,.0f} to {high:,.0f}" in plain
    (target,) = claimed("the mediator aims for the **Nash bargaining point** of the zone", 1)
    assert f"Nash bargaining point, {target:,.0f}" in plain
    assert "700 is 120 below the 820 it still holds out for" in plain
    n_offer, s_offer, minute, value, duration = claimed("Only when the offers cross", 5)
    assert f"{minute:.0f} Offers Northland {n_offer:,.0f}, Southland {s_offer:,.0f}" in plain
    assert deal(plain) == (minute, value) and ends(plain) == duration

    willing = output(printed, "exchange_willingness=0.25")
    (red_line,) = claimed("600 + 0.25 × (1,400 − 600) =", 1)
    assert "Southland no more than 800: a zone of agreement from 400 to 800" in willing
    assert f"Southland no more than {red_line:,.0f}" in willing
    nash, minute, value = claimed("The Nash point is", 3)
    assert f"Nash bargaining point, {nash:,.0f}" in willing
    assert deal(willing) == (minute, value)


# ------------------------------------------------------------------ 3: BATNA, walk-outs
def test_a_batna_buys_a_larger_share_and_walking_out_is_a_decision(printed):
    better = ending(printed, "northland.batna=0.3")
    assert "takes no less than 880" in better
    zone_from, value, minute = claimed("which leaves a zone from", 3)
    assert f"a zone of agreement from {zone_from:,.0f} to 1,000" in better
    assert deal(better) == (minute, value)

    leaves = output(printed, "batna=0.3", "discount_per_hour=0.2")
    minute, staying, batna = claimed("Northland walks out in minute", 3)
    assert f"{minute:.0f} Northland walks out: staying was worth {staying:.2f}" in leaves
    quote = re.search(r'"(staying was worth .+?)"', FLAT_DOC)[1].replace("**", "")
    assert quote in leaves and f"less than its BATNA now, {batna:.2f}" in leaves
    wait = re.search(r"would take (\d+) minutes to come down", FLAT_DOC)[1]
    assert f"for the {wait} minutes it expected to wait" in leaves

    istanbul = output(printed, "--run 7")
    threshold, minute = claimed("Russia's walk-out threshold is short", 2)
    assert f"Russia {threshold:.0f}." in istanbul
    quote = re.search(r'Russia walks out in minute \*\*\d+\*\*: "(.+?)"', FLAT_DOC)[1]
    assert f"{minute:.0f} Russia walks out: {quote}" in istanbul
    assert "Agreed: nothing" in istanbul

    as_reported = output(printed, "--run 0")
    exchange, remains = claimed("agrees an exchange of", 2)
    assert f"prisoner exchange {exchange:,.0f} prisoners per side" in as_reported
    assert f"remains repatriation {remains:,.0f} bodies" in as_reported
    assert "children 1 (list accepted for review)" in as_reported
    assert re.search(r"Parked: [^.]*ceasefire", as_reported)

    worse = ending(printed, "northland.batna=0.5")
    takes, minute = claimed("Northland now takes no less than 400 + 0.5 × 1,600 =", 2)
    assert f"takes no less than {takes:,.0f}; that leaves no zone of agreement" in worse
    assert parked(worse) == minute and "walks out" not in worse


# -------------------------------------------------------------------- 4: concession
def test_conceder_linear_boulware_on_a_fine_lattice(printed):
    linear = ending(printed, "--set issues.pow_exchange.step=1")
    conceder = output(printed, "step=1", "concession=3")
    boulware = output(printed, "step=1", "concession=0.3")
    value, minute = claimed("at τ = 0.7: the deal is", 2)
    assert deal(linear) == (minute, value)
    value, minute = claimed("The deal is **774**", 2)
    assert deal(conceder) == (minute, value)
    value, minute = claimed("It holds near 2,000 and moves late", 2)
    assert deal(boulware) == (minute, value)
    # the order the section teaches: Conceder < linear < Boulware, sooner to later
    assert deal(conceder) < deal(linear) < deal(boulware)
    coarse = ending(printed, f"trace {CLASSROOM} --set parties.northland.concession=3")
    value, minute = claimed("two-party.toml --set parties.northland.concession=3 ```", 2)
    assert deal(coarse) == (minute, value)
    assert value == deal(ending(printed, f"trace {CLASSROOM}"))[1]  # as the linear one's


# ------------------------------------------------------------ 5-6: Zeuthen, Rubinstein
def test_zeuthen_and_rubinstein_python_answers():
    from sim.teach.classic import alternating_offers, zeuthen

    assert zeuthen(0.3, 0.3) == pytest.approx(0.5, abs=1e-3)
    assert "At 0.3 + (1 − 0.6) / 2 = 0.5" in FLAT_DOC
    for d1, d2 in ((0.9, 0.9), (0.95, 0.8)):  # the block's own cases
        assert alternating_offers(d1, d2, 60).share == pytest.approx(
            (1 - d2) / (1 - d1 * d2), abs=2e-3)


def limit(d_first: float, d_second: float) -> float:
    """Rubinstein's split as offers come a moment apart (Binmore, Rubinstein & Wolinsky
    1986): r2 / (r1 + r2) with r = -ln(1 - d)."""
    r1, r2 = -math.log(1 - d_first), -math.log(1 - d_second)
    return r2 / (r1 + r2)


def test_patience_is_power(printed):
    fund = load_scenario(ROOT / "scenarios" / "tutorial-patience.toml")
    d = {p.key: p.discount_per_hour.low for p in fund.parties}
    assert (d["lakeside"], d["hillside"]) == (0.1, 0.3)
    default = ending(printed, "trace scenarios/tutorial-patience.toml")
    closed, agreed = claimed("The closed form gives Lakeside", 2)
    assert closed == round(limit(0.1, 0.3), 3)
    assert deal(default)[1] == agreed and abs(agreed - 10000 * limit(0.1, 0.3)) <= 1
    equal = output(printed, "lakeside.discount_per_hour=0.3")
    assert deal(equal)[1] == claimed("Equal patience, equal split:", 1)[0]
    patient = output(printed, "hillside.discount_per_hour=0.05")
    closed, agreed = claimed("Hillside. Lakeside's share is", 2)
    assert closed == round(limit(0.1, 0.05), 3) and closed < 0.5
    assert deal(patient)[1] == agreed and abs(agreed - 10000 * limit(0.1, 0.05)) <= 5


# ---------------------------------------------------------------- 7: the mediator
def whatif_reached(text: str) -> dict[str, float]:
    """Levers that reach the target: name -> share of its range."""
    table = text.split("p then", 1)[1].split("Not reached", 1)[0]
    return {m[1].strip(): number(m[2]) for m in re.finditer(
        r"\d+ ([A-Z][^:]+: [a-z][^\[]+?) +(?:\[[^\]]+\]|drawn|[\d.]+) .*? (\d+)% +[\d.]+%",
        table)}


def whatif_best(text: str, lever: str) -> float:
    return number(re.search(rf"{re.escape(lever)} +([\d.]+)% at", text)[1])


def test_pressure_and_credibility_move_when_not_whether(printed):
    credible = output(printed, "credibility=1.0")
    value, minute, duration = claimed("Agreed at **700**", 3)
    assert deal(credible) == (minute, value) and ends(credible) == duration
    pressed = output(printed, "pressure=1.0")
    value, minute = claimed("Still **800**", 2)
    assert deal(pressed) == (minute, value)

    classroom = output(printed, "classroom-two-party.toml", "whatif")
    (range_share, zero) = claimed("each only by closing the whole gap of 0.4", 2)
    reached = whatif_reached(classroom)
    assert sorted(reached) == ["Northland: red line on ceasefire (conditions)",
                               "Southland: red line on ceasefire (conditions)"]
    assert set(reached.values()) == {range_share}
    for lever in ("pressure", "credibility"):
        assert whatif_best(classroom, f"Midland (mediator): {lever}") == zero

    june = output(printed, "june-20-30-2025.toml ", "ceasefire_any")
    now, best = claimed("From **12.0%** now", 2)
    assert f"now: {now:.1f}%" in june
    assert all("red line on ceasefire (conditions" in lever for lever in whatif_reached(june))
    assert len(whatif_reached(june)) == 2
    assert max(whatif_best(june, f"Turkey (mediator): {lever}")
               for lever in ("pressure", "credibility")) == best


# ------------------------------------------------------------ 8: a manipulative mediator
def test_a_guarantee_opens_a_zone(printed):
    guaranteed = ending(printed, "trace scenarios/tutorial-guarantee.toml")
    assert "offers Downstream the security guarantee" in guaranteed
    low, high, value, minute = claimed("Downstream takes no less than **300**", 4)
    assert f"Downstream (BATNA 0.30) takes no less than {low:,.0f}" in guaranteed
    assert f"takes no more than {high:,.0f}" in guaranteed
    assert deal(guaranteed) == (minute, value) and low <= value <= high

    unpaid = output(printed, "trace", "budget=0")
    low, minute = claimed("Downstream takes no less than **600**", 2)
    assert f"takes no less than {low:,.0f}" in unpaid and "leaves no zone" in unpaid
    assert parked(unpaid) == minute and "guarantee" not in unpaid.split("Opening")[1]
    assert "No single lever reaches" in output(printed, "whatif", "tutorial-guarantee")

    smaller = output(printed, "utility=0.2")
    needed, point = claimed("so g ≥", 2)
    assert needed == 0.2
    assert f"agreement of one point: {point:,.0f}" in smaller
    assert deal(smaller)[1] == point


# ------------------------------------------------------------------------ 9: linkage
def test_linkage(printed):
    june = load_scenario(ROOT / "scenarios" / "june-20-30-2025.toml")
    base = list(june.agenda)
    russia = next(p for p in june.parties if p.key == "russia")
    assert [(link.requires, link.at_least) for link in russia.linkage
            if link.issue == "leaders_meeting"] == [("ceasefire", 2)]
    assert "`at_least = 2`, a general ceasefire" in FLAT_DOC
    place, count = claimed("raises a leaders' meeting itself, last on the agenda", 2)
    assert (base.index("leaders_meeting") + 1, len(base)) == (place, count) == (count, count)
    variant = load_scenario(ROOT / "scenarios" / "june-20-30-2025-leaders-meeting.toml")
    agenda = list(variant.agenda)
    place, count = claimed("puts the meeting on the agenda", 2)
    assert (agenda.index("leaders_meeting") + 1, len(agenda)) == (place, count)
    assert agenda[agenda.index("leaders_meeting") - 1] == "ceasefire"  # "right after"
    russia = next(p for p in variant.parties if p.key == "russia")
    links = [link for link in russia.linkage if link.issue == "leaders_meeting"]
    assert [(link.requires, link.at_least) for link in links] == [("ceasefire", 1)]
    assert "(`at_least = 1`)" in FLAT_DOC

    told = output(printed, "leaders-meeting.toml --run 1")
    assert re.search(r"parks the ceasefire: no zone", told)
    for quote in re.findall(r'"(Russia [^"]+|Turkey parks [^"]+)"',
                            FLAT_DOC.split("## 9. Linkage")[1].split("## 10")[0]):
        assert quote in told, quote

    counted = output(printed, "negsim run", "leaders-meeting")
    meeting, ceasefire = claimed("A leaders' meeting in", 2)
    assert share(counted, "leaders' meeting agreed") == meeting
    assert share(counted, "ceasefire of any kind (level >= 1)") == ceasefire
    rows = pd.read_parquet(printed["folder"] / "results" / "leaders-meeting" / "results")
    assert rows["leaders_meeting_agreed"].equals(rows["ceasefire_level"] >= 1)

    what = output(printed, "whatif", "leaders_meeting_agreed")
    ukraine, russia_share, level, mediator = claimed("A ceasefire first", 4)
    assert whatif_reached(what) == {
        "Ukraine: red line on ceasefire (conditions at local humanitarian pause)": ukraine,
        "Russia: red line on ceasefire (conditions at local humanitarian pause)":
            russia_share}
    assert whatif_best(what, "Ukraine: red line on ceasefire (level)") == level
    assert max(whatif_best(what, f"Turkey (mediator): {lever}")
               for lever in ("pressure", "credibility")) == mediator


# ------------------------------------------------------------------- 10: logrolling
def test_logrolling(printed):
    package = output(printed, "classroom-package.toml --frontier")
    fishing, border, u_east, u_west, minute, duration = claimed(
        "The mediator's text gives fishing", 6)
    assert (f"{minute:.0f} Every side accepts: a package agreed — Eastland's share of the "
            f"fishing quota {fishing:.0f} %, border strip under Eastland's administration "
            f"{border:.0f} %. It is worth Eastland {u_east:.2f} and Westland {u_west:.2f}"
            ) in package
    assert ends(package) == duration
    sequential = output(printed, 'round.protocol="sequential"')
    fish, land, duration = claimed("Each issue alone is split at its Nash point", 3)
    assert re.findall(r"agreed at (\d+) %", sequential) == [f"{fish:.0f}", f"{land:.0f}"]
    assert ends(sequential) == duration
    assert "0.5 × 0.5 = 0.25" in FLAT_DOC and f"{u_east} × {u_west} = 0.5625" in FLAT_DOC


# ---------------------------------------------------------- 11: private information
def test_private_red_lines_lose_deals_and_caucuses_win_them_back(printed):
    private = output(printed, "--out results/private")
    public = output(printed, "information.private=false")
    caucus = output(printed, "mediator.caucuses=1")
    (lost,) = claimed("The fee is agreed in only", 1)
    (known,) = claimed("--set information.private=false ```", 1)
    (won,) = claimed("--set mediator.caucuses=1 ```", 1)
    assert [share(t, "a fee agreed") for t in (private, public, caucus)] == [lost, known, won]
    assert lost < won < known  # Myerson & Satterthwaite; caucuses (Kressel & Pruitt)

    told = output(printed, "--run 4 --runs 500")
    believed_low, believed_high, text, minute, true_low, true_high = claimed(
        "The mediator believes the zone runs from", 6)
    assert (f"after its caucuses: the licence fee {believed_low:.0f} to {believed_high:.0f} "
            f"(by the true red lines: {true_low:.0f} to {true_high:.0f})") in told
    assert f"Arbiter's text: licence fee {text:.0f} thousand" in told
    assert parked(told) == minute and "Agreed: nothing" in told
    reckoned, true = claimed("the mediator had reckoned Licensee's red line at about", 2)
    assert (f"Licensee's red lines: on the licence fee no more than {true:.0f} (Arbiter "
            f"reckoned no more than about {reckoned:.0f}") in told
    assert "WHAT EACH SIDE REALLY HELD" in told and "overstated its own by 0.10" in told
    assert told.index("WHAT EACH SIDE REALLY HELD") > told.index("The round ends")

    learns = output(printed, "--run 17 --runs 500")
    objected, reckons, redraft, value = claimed("Licensor objects that", 4)
    assert (f"Arbiter's text: licence fee {objected:.0f} thousand. Licensor objects: the "
            "text is past its red line") in learns
    assert f"above {objected:.0f} (no less than about {reckons:.0f})" in learns
    assert f"Arbiter's redrafted text: licence fee {redraft:.0f} thousand" in learns
    assert f"a package agreed — licence fee {value:.0f} thousand" in learns
    assert true_low <= value <= true_high
    # the replicates told are rows of the first batch (same seed, same --runs)
    rows = pd.read_parquet(printed["folder"] / "results" / "private" / "results")
    rows = rows.set_index("run_id")
    assert not rows.loc[4, "fee_agreed"] and rows.loc[17, "fee_value"] == value


# ------------------------------------------------------------ 12: one round in a batch
def test_the_traced_round_is_a_row_of_the_batch(printed):
    output(printed, "run scenarios/istanbul-2025-06-02.toml")
    rows = pd.read_parquet(printed["folder"] / "results" / "round-2" / "results")
    row = rows.set_index("run_id").loc[7]
    assert bool(row["walkout"]) and row["walkout_party"] == "Russia"
    minutes = number(re.search(r"Russia walked out, after (\d+) minutes", FLAT_DOC)[1])
    assert row["duration_minutes"] == minutes
