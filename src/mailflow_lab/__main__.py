"""Run the mailflow-lab command with `python -m mailflow_lab`."""

import sys

from .cli import main

sys.exit(main())
