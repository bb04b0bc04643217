"""`negsim report` as a reader meets it: a self-contained page that opens in a browser
with its figures loaded, a summary whose every number is summary.json's, the
scenario's assumptions, and one clear line for a folder it cannot use."""

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from sim.batch.chunks import run_scenario
from sim.batch.results import RunResults, load_outcomes, load_results
from sim.cli import main
from sim.report.assumptions import comments, scenario_assumptions
from sim.report.content import source_blocks, summary_blocks
from sim.report.html import Paragraph
from sim.scenario.load import load_scenario
from sim.stats.numbers import percent, percent_interval, whole
from sim.stats.summary import summarise

ROOT = Path(__file__).resolve().parent.parent
JUNE = ROOT / "scenarios" / "june-20-30-2025.toml"
CLASSROOM = ROOT / "scenarios" / "classroom-two-party.toml"
STEMS = ("event-probabilities", "outcome-distributions", "round-timeline", "zone-of-agreement")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "june"
    assert main(["run", str(JUNE), "--runs", "800", "--seed", "2", "--chunk-size", "300",
                 "--workers", "1", "--no-plots", "--out", str(out)]) == 0
    assert not (out / "figures").exists()  # --no-plots
    assert main(["report", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def summary(folder) -> dict:
    return json.loads((folder / "summary.json").read_text())


def section(markdown: str, title: str) -> str:
    """The text of a ``## title`` section of report.md."""
    start = markdown.index(f"## {title}\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start:end if end > 0 else None]


def test_report_writes_its_files(folder):
    assert (folder / "report.md").is_file() and (folder / "report.html").is_file()
    assert sorted(p.name for p in (folder / "figures").iterdir()) == sorted(
        f"{stem}.{ext}" for stem in STEMS for ext in ("png", "svg"))


def test_every_number_of_the_summary_is_summary_json_s(folder, summary):
    markdown = (folder / "report.md").read_text()
    text = section(markdown, "Summary")
    words = text.replace(summary["scenario"], "")  # names hold digits of their own
    for label in [e["label"] for e in summary["events"].values()] + [
            q["label"] for q in summary["quantiles"].values()]:
        words = words.replace(label, "")
    allowed = {"95%", "90%", whole(summary["runs"]), str(summary["seed"]), "10", "90"}
    for event in summary["events"].values():
        allowed |= {percent(event["p"]), percent(event["ci95"][1]), whole(event["count"]),
                    percent(event["ci95"][0])[:-1]}  # "12.3" of "12.3–13.7%"
        if event["parameter_p10"] is not None:  # June draws from a posterior
            allowed |= {percent(event["parameter_p90"]), percent(event["parameter_p10"])[:-1]}
    for q in summary["quantiles"].values():
        allowed |= {whole(v) for k, v in q.items() if v is not None and k != "label"}
    allowed |= {whole(n) for n in summary["walkout_by_party"].values()}
    found = re.findall(r"(?<![\w.])\d[\d,]*(?:\.\d+)?%?", words)
    assert found and set(found) <= allowed, set(found) - allowed
    # each event on the agenda is stated with its probability and interval ...
    for name, event in summary["events"].items():
        if event["on_agenda"]:
            assert (f"{event['label']}: {percent(event['p'])} "
                    f"({percent_interval(*event['ci95'])}) of rounds" in text), name
    assert f"In {whole(summary['runs'])} simulated rounds of" in text
    # ... and the tables equal the JSON, cell by cell
    rows = {line.split(" | ")[0].lstrip("| "): [c.strip() for c in line.strip("|").split("|")]
            for line in text.splitlines() if line.startswith("| ")}
    for event in summary["events"].values():
        label = event["label"]
        across = percent_interval(event["parameter_p10"], event["parameter_p90"])
        expected = ([label, percent(event["p"]), percent_interval(*event["ci95"]), across,
                     whole(event["count"])] if event["on_agenda"] else
                    [label, "", "not on the agenda", "", ""])
        assert rows[label] == expected
    for q in summary["quantiles"].values():
        label = q["label"]
        assert rows[label] == [label, whole(q["n"]), *(whole(q[k]) for k in
                                                        ("p05", "p10", "p50", "p90", "p95"))]
    # the same summary in the HTML page
    page = (folder / "report.html").read_text()
    for event in summary["events"].values():
        if event["on_agenda"]:
            assert f"{percent(event['p'])} ({percent_interval(*event['ci95'])})" in page


def test_numbers_are_written_as_the_printed_table_writes_them():
    written = [percent(p) for p in (0.0, 0.00038, 0.0021, 0.1396, 0.9999, 1.0)]
    assert written == ["0.0%", "0.04%", "0.21%", "14.0%", "100.0%", "100.0%"]


def test_html_is_one_self_contained_file(folder):
    page = (folder / "report.html").read_text()
    assert not re.search(r"""(src|href)=["']?(https?:|//|figures/)""", page)
    assert "<script" not in page and "<link" not in page
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == len(STEMS)
    for stem, data in zip(STEMS, images, strict=True):
        assert base64.b64decode(data) == (folder / "figures" / f"{stem}.png").read_bytes()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync",
         "--hide-scrollbars"]
#: Appended to a copy of the report (never to the report itself): once the page has
#: loaded, record every image's load state and natural size where --dump-dom shows it.
PROBE = """<script>
window.addEventListener("load", function () {
  var sizes = Array.prototype.map.call(document.images, function (img) {
    return [img.complete, img.naturalWidth, img.naturalHeight];
  });
  document.body.setAttribute("data-images", JSON.stringify(sizes));
});
</script>"""


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install "
                    "chromium; the CI installs it)")
def test_report_opens_in_headless_chromium_with_its_figures_loaded(folder, tmp_path):
    page = folder / "report.html"
    shot = tmp_path / "report.png"
    done = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,3000",
                    "--virtual-time-budget=10000", page.resolve().as_uri())
    assert shot.is_file(), done.stderr[-2000:]
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (3000, 1200)
    assert (pixels.std(axis=2) > 0.1).mean() > 0.01  # coloured ink: figures were drawn
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text().replace("</body>", PROBE + "\n</body>"))
    done = chromium(tmp_path, "--dump-dom", "--virtual-time-budget=10000",
                    probe.resolve().as_uri())
    found = re.search(r'data-images="([^"]*)"', done.stdout)
    assert found, done.stderr[-2000:]
    sizes = json.loads(found.group(1).replace("&quot;", '"'))
    assert len(sizes) == len(STEMS)
    for stem, (complete, width, height) in zip(STEMS, sizes, strict=True):
        png = (folder / "figures" / f"{stem}.png").read_bytes()
        assert complete and (width, height) == (int.from_bytes(png[16:20], "big"),
                                                int.from_bytes(png[20:24], "big")), stem


def test_report_states_the_assumptions(folder):
    text = section((folder / "report.md").read_text(), "Assumptions")
    scenario = load_scenario(JUNE)
    assert f"posterior {scenario.posterior.path} (sha256 {scenario.posterior.sha256[:12]}" \
           in text
    for shift in scenario.shifts:
        assert shift.key in text and shift.why in text
    assert "### What this scenario changes from istanbul-2025-06-02.toml" in text
    assert ("| round.deadline_minutes | 75 | 60 | a fuller agenda than 2 June: children and "
            "a ceasefire basis |") in text
    assert "| parties.ukraine.issues.children.red_line | 1 – 2 | range, drawn per round |" in text
    # the base file's memorandum positions stay listed, marked as off this agenda
    assert "| parties.ukraine.issues.memorandum.ideal | 2 | not on this round's agenda |" in text


def test_a_scenario_without_posterior_says_so():
    scenario = load_scenario(CLASSROOM)
    results = run_scenario(scenario, 20, 0)
    summary = summarise(results, scenario, 0)
    blocks = source_blocks(RunResults.of_frame(summary, results, scenario))
    texts = [b.text for b in blocks if isinstance(b, Paragraph)]
    assert texts[0].startswith("No posterior: every parameter is the scenario file's value")


def test_reasons_are_the_comments_beside_or_above_each_key(tmp_path):
    description, reasons = comments(
        "# A scenario.\n# Two lines.\n\n[round]  # the round\nname = \"a # b\"  # quoted\n"
        "# why the deadline\ndeadline_minutes = 60\nmax_minutes = 90\n\n"
        "[[parties.x.linkage]]   # linked\nissue = \"y\"\n")
    assert description == "A scenario. Two lines."
    assert reasons == {"round": "the round", "round.name": "quoted",
                       "round.deadline_minutes": "why the deadline",
                       "parties.x.linkage": "linked"}


def test_a_variant_s_key_takes_its_own_reason_not_its_base_s():
    _, rows, base = scenario_assumptions(ROOT / "scenarios" / "june-20-30-2025.toml")
    by_key = {row.key: row for row in rows}
    assert base == "istanbul-2025-06-02.toml"
    # the June file sets the agenda without a comment: the base's comment does not apply
    assert by_key["agenda.items"].reason == ""
    assert by_key["agenda.items"].base_value.endswith("memorandum, ceasefire, next_round")
    assert by_key["context.concession_noise"].reason == "day-to-day latitude of the delegations"


def test_results_load_from_one_file_or_a_folder_of_parts(folder, tmp_path):
    parts = load_results(folder)
    assert len(list((folder / "results").glob("*.parquet"))) == 3
    assert list(parts["run_id"]) == list(range(800))
    single = tmp_path / "single"
    single.mkdir()
    parts.to_parquet(single / "results.parquet", index=False)
    pd.testing.assert_frame_equal(load_results(single), parts)
    scenario = load_scenario(ROOT / "scenarios" / "june-20-30-2025.toml")
    counts_parts, rows = load_outcomes(folder, scenario)
    counts_single, _ = load_outcomes(single, scenario)
    assert rows == 800
    for key, counts in counts_parts.items():
        assert np.array_equal(counts.counts, counts_single[key].counts), key


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


def test_bad_results_folders_get_one_line_and_exit_2(folder, tmp_path, capsys):
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "nowhere: no such results folder" in one_error_line(capsys)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["report", str(empty)]) == 2
    assert f"{empty / 'summary.json'}: missing" in one_error_line(capsys)
    (empty / "summary.json").write_text("{not json")
    assert main(["report", str(empty)]) == 2
    assert "summary.json: not a readable summary" in one_error_line(capsys)
    moved = tmp_path / "moved"
    shutil.copytree(folder, moved, ignore=shutil.ignore_patterns("figures", "report.*"))
    summary = json.loads((moved / "summary.json").read_text())
    summary["scenario_file"] = str(tmp_path / "gone.toml")
    (moved / "summary.json").write_text(json.dumps(summary))
    assert main(["report", str(moved)]) == 2
    err = one_error_line(capsys)
    assert "gone.toml: no such scenario file" in err and "--scenario" in err
    shutil.rmtree(moved / "results")
    assert main(["report", str(moved), "--scenario", str(JUNE)]) == 2
    assert "no results.parquet (nor a results/ folder" in one_error_line(capsys)


def study_folder(tmp_path: Path, kind: str, table: pd.DataFrame, summary: dict) -> Path:
    """A hand-made folder of negsim sweep or sensitivity (the files they write)."""
    folder = tmp_path / kind
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"kind": kind}))
    (folder / "summary.json").write_text(json.dumps(summary))
    table.to_csv(folder / ("points.csv" if kind == "sweep" else "sobol.csv"), index=False)
    return folder


def test_report_of_a_sweep_folder(tmp_path, capsys):
    rows = [{"point": i, "context.third_party_pressure": x, "runs": 500,
             "walkout.p": 0.1 - 0.1 * x, "walkout.ci95_low": 0.08 - 0.1 * x,
             "walkout.ci95_high": 0.12 - 0.1 * x} for i, x in enumerate((0.0, 0.3, 0.6))]
    folder = study_folder(tmp_path, "sweep", pd.DataFrame(rows),
                          {"scenario": "June round", "design": "grid", "seed": 0,
                           "sweep": "sweep.toml"})
    assert main(["report", str(folder)]) == 0
    assert sorted(p.name for p in (folder / "figures").iterdir()) == ["sweep.png", "sweep.svg"]
    markdown = (folder / "report.md").read_text()
    assert "3 design points, 1,500 simulated rounds" in markdown
    assert "| 0.3 | 500 | 7.0% |" in markdown
    assert "<img src=\"data:image/png;base64," in (folder / "report.html").read_text()


def test_report_of_a_sensitivity_folder(tmp_path):
    table = pd.DataFrame([
        {"outcome": "walkout", "parameter": "mediator.pressure", "S1": 0.4, "S1_ci95": 0.1,
         "ST": 0.5, "ST_ci95": 0.1, "note": ""},
        {"outcome": "duration_minutes.p50", "parameter": "mediator.pressure", "S1": np.nan,
         "S1_ci95": np.nan, "ST": np.nan, "ST_ci95": np.nan,
         "note": "the same at every design point"}])
    folder = study_folder(tmp_path, "sensitivity", table,
                          {"scenario": "June round", "points": 32, "replicates": 100,
                           "seed": 0, "sensitivity": "sens.toml"})
    assert main(["report", str(folder)]) == 0
    markdown = (folder / "report.md").read_text()
    assert "(3,200 in all)" in markdown
    assert "| walkout | mediator.pressure | 0.40 ± 0.10 | 0.50 ± 0.10 |  |" in markdown
    assert "the same at every design point" in markdown


def test_rounds_that_failed_are_said_to_be_left_out(summary):
    blocks = summary_blocks(summary | {"failures": {"count": 3}})
    texts = [b.text for b in blocks if isinstance(b, Paragraph)]
    assert "3 rounds raised an error in the model and are left out of every number here." \
        in texts
    assert not any("raised an error" in b.text for b in summary_blocks(summary)
                   if isinstance(b, Paragraph))
