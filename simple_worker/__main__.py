"""``python -m simple_worker``: the ``simple-worker`` command."""

import sys

from simple_worker.cli import main

sys.exit(main())
