"""A short run of the soak (bench/soak.py: `make soak` runs it for ten minutes), behind `-m fuzz`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.fuzz
def test_a_minute_of_mixed_traffic_loses_nothing_forges_nothing_and_fails_nothing(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    command = [sys.executable, "-m", "bench.soak", "--seconds", "60", "--out", str(out)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    result = json.loads(out.read_text())
    assert run.returncode == 0, result
    assert result["acknowledged"] > 0 and result["lost"] == [] and result["internal_errors"] == []
    assert result["rss_mb"]["max_second_half"] < 2 * result["rss_mb"]["max_first_half"] + 50
