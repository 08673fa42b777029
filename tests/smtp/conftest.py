"""The SMTP tests share the raw-socket client of the hostile tests (tests/hostile/hostile_kit.py)."""

from __future__ import annotations

import sys
from pathlib import Path

# pytest runs with --import-mode=importlib: the helper module is found through the path.
sys.path.insert(0, str(Path(__file__).parents[1] / "hostile"))
