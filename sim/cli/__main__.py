"""``python -m sim.cli``: the ``propsim`` program."""

import sys

from sim.cli.main import entry

sys.exit(entry())
