"""The browser tests import their shared settings as `browser_kit` (pytest uses --import-mode=importlib)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
