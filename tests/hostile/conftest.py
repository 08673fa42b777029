"""The helpers of hostile_kit (the `lab` fixture is tests/conftest.py's)."""

from __future__ import annotations

import sys
from pathlib import Path

# The tests import their helpers as `hostile_kit` (pytest runs with --import-mode=importlib).
sys.path.insert(0, str(Path(__file__).parent))
