"""What the subcommands share: user errors and argument types."""

from __future__ import annotations

import argparse
from collections.abc import Callable

#: The largest seed, count of runs or chunk size: each is stored in a 64-bit signed
#: integer column (``seed``, ``run_id``) or field. ``SeedSequence`` itself takes any
#: integer >= 0, so the limit is the files', and it is checked before anything runs.
MAX_INT64 = 2**63 - 1


class UsageError(Exception):
    """A command-line mistake: reported in one line, exit status 2."""


def integer_at_least(name: str, low: int, high: int = MAX_INT64) -> Callable[[str], int]:
    """An argparse type: an integer within ``[low, high]``, with a message naming the
    option."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{name} must be >= {low}, got {value}")
        if value > high:
            raise argparse.ArgumentTypeError(f"{name} must be <= {high}, got {value}")
        return value

    return parse
