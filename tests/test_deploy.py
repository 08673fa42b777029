"""The classroom deployment files: the image installs the kit the README's way, the limits are set."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_image_and_binder_install_the_same_way() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    post_build = (ROOT / "binder" / "postBuild").read_text()
    install = re.search(r"pip install --no-cache-dir (\S+)", dockerfile)
    assert install, "the Dockerfile installs the kit with pip"
    assert "pip install --no-cache-dir ." in post_build
    assert "pip install --no-cache-dir ." in (ROOT / "README.md").read_text()
    assert "MAILFLOW_LAB_SCENARIOS" in dockerfile


def test_z2jh_values_set_per_learner_limits() -> None:
    values = yaml.safe_load((ROOT / "deploy" / "values.yaml").read_text())
    singleuser = values["singleuser"]
    assert singleuser["memory"] == {"guarantee": "256M", "limit": "512M"}
    assert singleuser["cpu"]["limit"] == 1
    assert singleuser["defaultUrl"].endswith("00-start-here.ipynb")
    assert values["cull"]["enabled"] is True
    mounts = singleuser["storage"]["extraVolumeMounts"]
    assert mounts[0]["mountPath"] == singleuser["extraEnv"]["MAILFLOW_LAB_SCENARIOS"]
