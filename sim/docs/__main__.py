"""``python -m sim.docs``: regenerate (or ``--check``) the generated sections of ``docs/``."""

import sys

from sim.docs import main

sys.exit(main())
