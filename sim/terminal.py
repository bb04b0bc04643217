"""Text from a user's file made safe to print on a terminal.

A name in a scenario file (a round, a party, a mediator, a TOML key) is data. Sent
raw to a terminal, its control characters are commands: an ANSI escape (ESC ``[``)
recolours or rewrites the screen, a carriage return or newline forges another line
(a second ``negsim: error:``), NUL and bell do what they do, and Unicode's bidi
controls reorder what the reader sees ("Trojan Source", CVE-2021-42574). Every
printer applies ``printable`` where such text is shown, so it appears escaped, as
Python writes it in a string literal (``\\x1b``, ``\\n``, ``\\u202e``).
"""

from __future__ import annotations

import re

#: Unicode's bidirectional formatting characters (UAX #9): shown escaped.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029" + BIDI_CONTROLS + "]")


def _escaped(match: re.Match) -> str:
    return ascii(match.group())[1:-1]  # '\n' -> \n, ESC -> \x1b, U+202E -> \u202e


def printable(text: object) -> str:
    """``str(text)`` with every control character (C0 and C1, DEL), line and paragraph
    separator and bidi control written as its escape, the rest unchanged: one line
    that does nothing to the terminal showing it."""
    return _UNSAFE.sub(_escaped, str(text))

