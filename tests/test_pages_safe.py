"""Nothing from a file runs in a page (issue 16, "Stored script injection"): a scenario
whose round, party, mediator names, party key and comments hold HTML, Markdown and
Vue template attacks is shown as typed in the dashboard, report.html and report.md;
nothing runs (``window.__x`` stays undefined) and nothing is fetched off this
machine (the attacks point at 203.0.113.7, an address reserved for documentation)."""

from __future__ import annotations

import html
import html.parser
import re
import signal
from pathlib import Path
from xml.etree import ElementTree

import markdown as python_markdown
import pytest
from browser import chromium, dashboard, is_local, needs_chromium
from hypothesis import example, given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from sim.cli import main
from sim.report.html import markdown_text

ROOT = Path(__file__).resolve().parent.parent
CLASSROOM = ROOT / "scenarios" / "classroom-two-party.toml"

IMG = '<img src="http://203.0.113.7/i.png" onerror="window.__x=1">'
SCRIPT = "<script>window.__x=1</script>"
MD_IMAGE = "![seen](http://203.0.113.7/m.png)"
MD_LINK = "[click](javascript:window.__x=1)"
AUTOLINK = "<javascript:window.__x=1>"
VUE = "{{constructor.constructor('window.__x=1')()}}"
ATTRIBUTES = '{: onmouseover="window.__x=1" }'  # Python-Markdown's attr_list, kramdown

ROUND = f"Round {SCRIPT} {MD_IMAGE} {ATTRIBUTES}"
NORTH = f"North{IMG}"
SOUTH = f"South {VUE}"
MEDIATOR = f"Mid {MD_LINK} {AUTOLINK}"
NORTH_KEY = "n<svg onload=window['__x']=1>k"  # no dot: a key's parts are split at dots
REASON = f"because {IMG} {MD_IMAGE} {MD_LINK}"
NAMES = (ROUND, NORTH, SOUTH, MEDIATOR)

#: What a page may hold, rendered: these tags, and no attribute but these.
TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "em",
        "ul", "li", "table", "thead", "tbody", "tr", "th", "td", "details", "summary",
        "figure", "figcaption", "img", "strong", "a"}
ATTRIBUTES_ALLOWED = {"lang", "charset", "name", "content", "class", "src", "alt", "width",
                      "height", "open", "href", "style", "id"}


def toml_string(text: str) -> str:
    """A TOML literal string (no escapes) when the text has no single quote."""
    return f"'{text}'" if "'" not in text else '"' + text.replace('"', '\\"') + '"'


def hostile_scenario(folder: Path) -> Path:
    """The classroom round (without its opening statements) with hostile names, party
    key and comments; every value as the classroom file has it."""
    text = CLASSROOM.read_text()
    text = f"# {MD_IMAGE} {SCRIPT}\n" + text
    text = text.replace('name = "Classroom: Northland and Southland"',
                        f"name = {toml_string(ROUND)}  # {REASON}")
    text = text.replace("opening_minutes = 10     # ten minutes of opening statements",
                        "opening_minutes = 0")
    text = text.replace('name = "Northland"', f"name = {toml_string(NORTH)}")
    text = text.replace('name = "Southland"', f"name = {toml_string(SOUTH)}")
    text = text.replace('name = "Midland"', f"name = {toml_string(MEDIATOR)}")
    text = text.replace("[parties.northland", f"[parties.{toml_string(NORTH_KEY)}")
    path = folder / "hostile.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    return hostile_scenario(tmp_path_factory.mktemp("hostile"))


class Rendered(html.parser.HTMLParser):
    """An HTML page's tags, attributes and text (character references decoded)."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []
        self.text: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [(tag, name, value) for name, value in attrs]

    def handle_data(self, data):
        self.text.append(data)

    @property
    def words(self) -> str:
        return " ".join("".join(self.text).split())


def assert_inert(page: str, links: str) -> Rendered:
    """Only the tags and attributes of a report; every link and image source matches
    ``links`` (the report's own figures); each hostile name in the text as typed."""
    rendered = Rendered(page)
    assert set(rendered.tags) <= TAGS, set(rendered.tags) - TAGS
    for tag, name, value in rendered.attributes:
        assert name in ATTRIBUTES_ALLOWED, (tag, name, value)
        if name in ("src", "href"):
            assert re.fullmatch(links, value or ""), (tag, name, value)
    for name in (NORTH, SOUTH, MEDIATOR, ROUND):
        assert " ".join(name.split()) in rendered.words, name
    assert " ".join(REASON.split()) in rendered.words
    return rendered


def open_in_chromium(path: Path) -> tuple[str, list[str]]:
    """``typeof window.__x`` after the page at ``path`` loaded, and the requests it made
    off this machine (all refused)."""
    with chromium() as (page, traffic):
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        page.mouse.move(300, 100)  # over the heading: an injected onmouseover would fire
        page.mouse.move(400, 300)
        ran = page.evaluate("() => typeof window.__x")
    off = [url for url in traffic.requests if not is_local(url)]
    return ran, sorted(set(off + traffic.refused))


@pytest.fixture(scope="module")
def report_folder(hostile, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "results"
    assert main(["run", str(hostile), "--runs", "200", "--out", str(out), "--no-plots"]) == 0
    assert main(["report", str(out)]) == 0
    return out


def test_report_html_shows_hostile_names_as_text(report_folder):
    page = (report_folder / "report.html").read_text()
    assert_inert(page, r"data:image/png;base64,[A-Za-z0-9+/=]+")


@needs_chromium
def test_report_html_runs_and_fetches_nothing(report_folder):
    ran, off = open_in_chromium(report_folder / "report.html")
    assert ran == "undefined" and off == []


def _renderings(markdown: str) -> dict[str, str]:
    """report.md as two common viewers render it: CommonMark with GitHub's tables and
    strikethrough and raw HTML allowed (markdown-it-py), and Python-Markdown with
    tables, attribute lists and Markdown in HTML."""
    commonmark = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    python = python_markdown.Markdown(extensions=["tables", "attr_list", "md_in_html", "toc"])
    return {"commonmark": commonmark.render(markdown), "python-markdown": python.convert(markdown)}


def test_report_md_shows_hostile_names_as_text(report_folder):
    markdown = (report_folder / "report.md").read_text()
    for viewer, page in _renderings(markdown).items():
        rendered = assert_inert(page, r"figures/[a-z-]+\.(png|svg)")
        assert rendered.tags.count("img") == 4, viewer  # the report's four figures


@needs_chromium
def test_report_md_runs_and_fetches_nothing(report_folder):
    markdown = (report_folder / "report.md").read_text()
    for viewer, page in _renderings(markdown).items():
        path = report_folder / f"report-{viewer}.html"
        path.write_text(f"<!DOCTYPE html><html><body>{page}</body></html>")
        ran, off = open_in_chromium(path)
        assert ran == "undefined" and off == [], viewer


def test_report_figures_hold_names_as_text(report_folder):
    """The SVG figures report.md links (matplotlib writes names into them): no script,
    no handler, no link, the names only as XML text."""
    svgs = sorted((report_folder / "figures").glob("*.svg"))
    assert len(svgs) == 4
    for svg in svgs:
        for element in ElementTree.parse(svg).iter():
            assert not element.tag.endswith("}script"), svg
            for name, value in element.attrib.items():
                assert not name.lower().startswith("on"), (svg, name)
                assert "203.0.113" not in value and "javascript" not in value, (svg, name)


# --------------------------------------------------------------------------- markdown_text
def _fold(text: str) -> str:
    return " ".join(text.replace("\x00", "\ufffd").split())


CONTEXTS = {  # how report.md places a text, and the tags that wrap it there
    "paragraph": ("{}", ["p"]),
    "heading": ("# {}", ["h1"]),
    "bullet": ("- {}", ["ul", "li"]),
    "note": ("*{}*", ["p", "em"]),
    "table": ("| a |\n| --- |\n| {} |", ["table", "thead", "tr", "th", "tbody", "tr", "td"]),
}
ATTACKS = [IMG, SCRIPT, MD_IMAGE, MD_LINK, AUTOLINK, VUE, ATTRIBUTES, "1. x", "2) y", "- z",
           "+ z", "> q", "# h", "---", "- - -", "===", "***", "___", "a_b _c_ __d__",
           "`code`", "~~s~~", "$x$", "a | b", "a\\", "&lt; &amp; &#60;", "\x00", "a\n\n# b",
           "[r]: http://203.0.113.7/r", "[^1]", "<!-- c -->", "x  \ny", "\t    code"]
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40) | st.sampled_from(
    ATTACKS) | st.lists(st.sampled_from([*ATTACKS, " ", "a", "_", "*", "\\", "<", "&", "-",
                                         "1", ".", "!", "[", "]", "(", ")"]),
                        max_size=8).map("".join)


@given(text=TEXT)
@example(text=IMG)
def test_markdown_text_renders_as_the_text_itself(text):
    """In every place report.md puts a text, a CommonMark viewer (markdown-it-py, with
    GitHub's tables and strikethrough, raw HTML on) shows exactly that text (its
    whitespace folded) inside the place's own tags, and no tag of its own."""
    folded = _fold(text)
    if not folded:
        return
    viewer = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    for place, (template, tags) in CONTEXTS.items():
        rendered = Rendered(viewer.render(template.format(markdown_text(text))))
        assert rendered.tags == tags, (place, text, markdown_text(text))
        assert rendered.attributes == []
        shown = "".join(rendered.text).strip()
        if place == "table":
            shown = shown.removeprefix("a").strip()
        assert shown == folded, (place, text, markdown_text(text))


@given(text=TEXT)
def test_markdown_text_makes_no_markup_in_python_markdown(text):
    """Python-Markdown (attribute lists on) makes no tag or attribute of a text either."""
    if not _fold(text):
        return
    viewer = python_markdown.Markdown(extensions=["tables", "attr_list", "md_in_html"])
    for place, (template, tags) in CONTEXTS.items():
        rendered = Rendered(viewer.reset().convert(template.format(markdown_text(text))))
        assert rendered.tags == tags, (place, text, markdown_text(text))
        assert rendered.attributes == [], (place, text)


def test_markdown_text_leaves_plain_words_as_they_are():
    """Keys, numbers and sentences of a report read the same in report.md."""
    for text in ("parties.ukraine.issues.children.red_line", "1 – 2", "12.5% (11.0–13.9%)",
                 "level >= 1", "-5", "+0.1", "0.40 ± 0.10", "Istanbul, 2 June 2025"):
        assert markdown_text(text) == text


# --------------------------------------------------------------------------- dashboard
@needs_chromium
def test_dashboard_shows_hostile_names_as_text(hostile, tmp_path):
    """The header, the controls (party names and key), the narration and the list of
    moved sliders show each name as typed; nothing runs, nothing is fetched."""
    with dashboard(hostile, tmp_path / "server.log", "--runs", "50") as server:
        with chromium(port=server.port) as (page, traffic):
            page.goto(server.url)
            step = page.get_by_role("button", name="Step")
            step.wait_for(timeout=60_000)
            for _ in range(2):
                step.click()
            page.wait_for_function("() => document.querySelector('.negsim-minute')"
                                   ".innerText === 'minute 2'", timeout=30_000)
            row = page.locator(".negsim-slider", has=page.get_by_text("patience (minutes)",
                                                                      exact=True)).first
            row.get_by_role("slider").focus()
            page.keyboard.press("End")
            page.get_by_text("Sliders moved: press Reset to apply them.").wait_for()
            page.get_by_role("button", name="Reset").click()
            page.wait_for_function("() => document.querySelector('.negsim-moved-list')"
                                   ".innerText.startsWith('Sliders moved')", timeout=30_000)
            step.click()
            page.wait_for_function("() => document.querySelector('.negsim-minute')"
                                   ".innerText === 'minute 1'", timeout=30_000)
            page.mouse.move(300, 25)
            page.mouse.move(640, 400)
            text = page.evaluate("() => document.body.innerText")
            ran = page.evaluate("() => typeof window.__x")
            injected = page.evaluate("""() => [
                ...document.querySelectorAll('[onerror], [onload], [onmouseover]')].length
                + [...document.scripts].filter(s => s.text.includes('__x')).length
                + [...document.images].filter(i => i.src.includes('203.0.113')).length""")
        server.process.send_signal(signal.SIGTERM)
    assert ran == "undefined" and injected == 0
    assert traffic.refused == [] and traffic.failed == []
    assert all(is_local(url, server.port) for url in traffic.requests), traffic.requests
    for name in (*NAMES, NORTH_KEY):
        assert name in text, name
    assert f"Sliders moved: parties.{NORTH_KEY}.patience = 1440" in text
    assert "the file's values are used" not in text  # the move was applied
    assert html.escape(NORTH) not in text  # shown as typed, not as its escaped form
