"""A progress bar for long batches: rounds done, rate, time left.

tqdm (which Mesa already depends on) draws it on standard error, and only on a
terminal: piped or in CI it stays quiet. It appears after a second, so short runs
print nothing extra.
"""

from __future__ import annotations

import sys

from tqdm import tqdm


def progress_bar(total: int, done: int = 0, unit: str = "rounds") -> tqdm:
    """A bar over ``total`` units of which ``done`` are finished already (a resumed
    batch); ``update(n)`` as more finish, ``close()`` at the end."""
    return tqdm(total=total, initial=done, unit=unit, unit_scale=True, file=sys.stderr,
                disable=None, delay=1.0, mininterval=0.5, smoothing=0.1, dynamic_ncols=True)
