"""Write calibration/sources.toml from the source list of the chronology of rounds.

The chronology (``../shared/reference/rounds-2022-2025.md``) ends with one line per
source: ``- [SA#] Publisher — title — date — URL``. The date is the one the page shows
(``2022-03-04``, ``2022-09``, ``29 Mar [2022]``, ``2025-06-01/02``) or, for a page that
shows none, ``n.d. [content date]`` (``n.d. [~4 Mar 2022]``, ``n.d. [10–11 Mar
2022]``, ``n.d. [Oct 2023]``).

Each source gets the *latest* day its date allows (the end of a span, of a month), so
that a test of "dated strictly before the round" errs on the side of leaving a source
out; the text as written is kept beside it. Two dates follow no pattern and are set
by hand in ``BY_HAND``, with the reason. Any other unreadable line stops the script
with its line number: nothing is guessed.

Usage: python experiments/chronology_sources.py CHRONOLOGY.md > calibration/sources.toml
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

MONTHS = {name: k for k, name in enumerate(calendar.month_abbr) if name}
LINE = re.compile(r"^- \[(?P<key>SA\d+(?:-note)?)\] (?P<rest>.*)$")
DAY = r"(\d{1,2})"
MONTH = r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
YEAR = r"(\d{4})"
DASH = "[–-]"  # an en dash, or a hyphen

#: Dates that follow no pattern, set by hand: key -> (date, dated, note).
BY_HAND = {
    "SA41": ("2025-06-02", "cutoff",
             "no date shown and no content date given: a running timeline, dated at the "
             "chronology's cut-off, the latest it can be (only its 2022 entries are used)"),
    "SA93": ("2023-06-30", "content",
             "'early 2023; exact date not shown': dated at the end of June 2023, the latest "
             "'early 2023' can mean"),
}


@dataclass(frozen=True)
class Source:
    key: str
    publisher: str
    title: str
    date: dt.date
    dated: str  # "shown" (the page's date), "content" (n.d.: the content date), "cutoff"
    as_written: str
    url: str
    note: str = ""


def last_day(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def read_date(text: str) -> tuple[dt.date, str, str]:
    """The latest day a chronology date allows, how it is dated, and a note."""
    if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text):
        return dt.date(*map(int, m.groups())), "shown", ""
    if m := re.fullmatch(r"(\d{4})-(\d{2})-\d{2}/(\d{2})", text):
        year, month, day = map(int, m.groups())
        return dt.date(year, month, day), "shown", "two days shown: the later is taken"
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        year, month = map(int, m.groups())
        return last_day(year, month), "shown", "month shown: its last day is taken"
    if m := re.fullmatch(rf"{DAY} {MONTH} \[{YEAR}\]", text):
        day, month, year = m.groups()
        return dt.date(int(year), MONTHS[month], int(day)), "shown", "year not shown"
    if not (m := re.fullmatch(r"n\.d\. \[(.*)\]", text)):
        raise ValueError(text)
    inner = m.group(1)
    note = ""
    if inner.startswith("content "):
        inner = inner[len("content "):]
    if inner.startswith("~"):
        inner, note = inner[1:], "content date approximate ('~')"
    if m := re.fullmatch(rf"(?:{DAY}{DASH})?{DAY} {MONTH} {YEAR}", inner):
        _, day, month, year = m.groups()
        return dt.date(int(year), MONTHS[month], int(day)), "content", note or (
            "a span of days: the last is taken" if m.group(1) else "")
    if m := re.fullmatch(rf"{DAY} {MONTH}{DASH}{DAY} {MONTH} {YEAR}", inner):
        _, _, day, month, year = m.groups()
        return dt.date(int(year), MONTHS[month], int(day)), "content", \
            "a span of days: the last is taken"
    if m := re.fullmatch(rf"{MONTH} {YEAR}", inner):
        month, year = m.groups()
        return last_day(int(year), MONTHS[month]), "content", \
            "month only: its last day is taken"
    raise ValueError(text)


def read_sources(path: Path) -> list[Source]:
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index("## Sources")
    sources = []
    for number, line in enumerate(lines[start + 1:], start=start + 2):
        if not line.startswith("- ["):
            continue
        m = LINE.match(line)
        parts = m.group("rest").split(" — ") if m else []
        if len(parts) != 4:
            sys.exit(f"{path}:{number}: not '- [SA#] publisher — title — date — url'")
        publisher, title, written, url = (p.strip() for p in parts)
        key = m.group("key")
        if key in BY_HAND:
            day, dated, note = BY_HAND[key]
            date = dt.date.fromisoformat(day)
        else:
            try:
                date, dated, note = read_date(written)
            except ValueError:
                sys.exit(f"{path}:{number}: {key}: unreadable date {written!r}")
        sources.append(Source(key, publisher, title, date, dated, written, url, note))
    keys = [s.key for s in sources]
    if len(set(keys)) != len(keys):
        sys.exit(f"{path}: a source key appears twice")
    return sources


def to_toml(sources: list[Source], chronology: str) -> str:
    out = [
        "# Every source of the chronology of rounds, 2022-2025, by its key [SA#].",
        f"# Made by experiments/chronology_sources.py from {chronology}",
        "# (do not edit by hand: change the chronology or the script and remake it).",
        "# date: the latest day the chronology's date allows (the end of a span or a month),",
        "#   so that 'dated strictly before a round' errs on the side of leaving a source out;",
        "# dated: 'shown' (the page's own date), 'content' (no date shown: the chronology's",
        "#   bracketed content date), 'cutoff' (neither: the chronology's cut-off, 2025-06-02);",
        "# as_written: the date as the chronology writes it.",
    ]
    for s in sources:
        out.append("")
        out.append(f"[sources.{s.key}]")
        out.append(f"publisher = {json.dumps(s.publisher, ensure_ascii=False)}")
        out.append(f"title = {json.dumps(s.title, ensure_ascii=False)}")
        out.append(f"date = {s.date.isoformat()}")
        out.append(f"dated = {json.dumps(s.dated)}")
        out.append(f"as_written = {json.dumps(s.as_written, ensure_ascii=False)}")
        if s.note:
            out.append(f"note = {json.dumps(s.note, ensure_ascii=False)}")
        out.append(f"url = {json.dumps(s.url, ensure_ascii=False)}")
    return "\n".join(out) + "\n"


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    path = Path(sys.argv[1])
    sys.stdout.write(to_toml(read_sources(path), "../shared/reference/" + path.name))


if __name__ == "__main__":
    main()
