"""The classroom deployment files: the image installs the kit the README's way, the limits are set, and
deploy/jupyterhub_config.py (the hub tests/browser/test_jupyterhub.py runs) agrees with values.yaml and
TLJH.md."""

from __future__ import annotations

import re
import runpy
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from traitlets.config import Config

ROOT = Path(__file__).resolve().parents[1]
HUB_CONFIG = ROOT / "deploy" / "jupyterhub_config.py"


@pytest.fixture
def hub_config(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The hub's configuration file, loaded as JupyterHub loads it (`c = get_config()`), with its defaults."""
    for name in ("PASSWORD", "LEARNERS", "STATE"):
        monkeypatch.delenv(f"MAILFLOW_HUB_{name}", raising=False)
    for name in ("COURSE", "SCENARIOS"):
        monkeypatch.delenv(f"MAILFLOW_LAB_{name}", raising=False)
    return runpy.run_path(str(HUB_CONFIG), init_globals={"get_config": Config})


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
    assert singleuser["memory"] == {"guarantee": "320M", "limit": "512M"}
    assert singleuser["cpu"]["limit"] == 1
    assert singleuser["defaultUrl"].endswith("00-start-here.ipynb")
    assert values["cull"]["enabled"] is True
    mounts = singleuser["storage"]["extraVolumeMounts"]
    assert mounts[0]["mountPath"] == singleuser["extraEnv"]["MAILFLOW_LAB_SCENARIOS"]


def test_z2jh_and_tljh_values_are_the_hub_configs(hub_config: dict[str, Any]) -> None:
    """values.yaml and TLJH.md repeat the limits and the culling of deploy/jupyterhub_config.py."""
    c = hub_config["c"]
    values = yaml.safe_load((ROOT / "deploy" / "values.yaml").read_text())
    singleuser = values["singleuser"]
    assert singleuser["memory"] == {"guarantee": c.Spawner.mem_guarantee, "limit": c.Spawner.mem_limit}
    assert singleuser["cpu"] == {"guarantee": c.Spawner.cpu_guarantee, "limit": c.Spawner.cpu_limit}
    assert singleuser["defaultUrl"] == c.Spawner.default_url
    assert singleuser["extraEnv"] == c.Spawner.environment
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert f"ENV MAILFLOW_LAB_SCENARIOS={c.Spawner.environment['MAILFLOW_LAB_SCENARIOS']}" in dockerfile
    cull = values["cull"]
    (culler,) = c.JupyterHub.services
    assert culler["command"][1:] == [
        "-m",
        "jupyterhub_idle_culler",
        f"--timeout={cull['timeout']}",
        f"--cull-every={cull['every']}",
    ]
    assert (hub_config["CULL_TIMEOUT"], hub_config["CULL_EVERY"]) == (cull["timeout"], cull["every"])

    tljh = (ROOT / "deploy" / "TLJH.md").read_text()
    for key, value in {
        "limits.memory": c.Spawner.mem_limit,
        "limits.cpu": c.Spawner.cpu_limit,
        "services.cull.timeout": cull["timeout"],
        "services.cull.every": cull["every"],
    }.items():
        assert f"tljh-config set {key} {value}\n" in tljh, key


def test_the_hub_config_isolates_learners_on_loopback(hub_config: dict[str, Any]) -> None:
    """A Unix user per learner (never every learner as the hub's user), everything bound to 127.0.0.1,
    the kit's own single-user server, and a culler allowed to do its work."""
    c = hub_config["c"]
    assert c.JupyterHub.spawner_class == "jupyterhub.spawner.LocalProcessSpawner"
    for url in (c.JupyterHub.bind_url, c.JupyterHub.hub_bind_url, c.ConfigurableHTTPProxy.api_url):
        assert url.startswith("http://127.0.0.1:"), url
    assert c.Spawner.ip == "127.0.0.1"
    assert c.Spawner.cmd == [str(Path(sys.executable).parent / "jupyterhub-singleuser")]
    assert c.Spawner.pre_spawn_hook is hub_config["copy_course"]
    assert hub_config["COURSE"] == ROOT / "notebooks"
    assert c.SharedPasswordAuthenticator.user_password is None  # no password set: nobody logs in
    (role,) = c.JupyterHub.load_roles
    assert role["services"] == ["idle-culler"]
    assert set(role["scopes"]) == {"list:users", "read:users:activity", "read:servers", "delete:servers"}
