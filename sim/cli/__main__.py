"""``python -m sim.cli``: the ``negsim`` command."""

import sys

from sim.cli import main

sys.exit(main())
