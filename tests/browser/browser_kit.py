"""What the JupyterLab and JupyterHub browser tests share: Debian's Chromium, kept off the network."""

from __future__ import annotations

import json
from pathlib import Path

from real_clients import executable

CHROMIUM = executable("chromium")
# Flags that keep Chromium off the network: this machine's network is closed, loopback is all it needs.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-default-browser-check",
    "--no-proxy-server",
]
# JupyterLab settings that keep the front end offline and every cell in the DOM (no windowing).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}


def write_lab_settings(settings_dir: Path) -> list[Path]:
    """LAB_SETTINGS as JupyterLab's user settings files in `settings_dir`; returns the files written."""
    written = []
    for plugin, values in LAB_SETTINGS.items():
        path = settings_dir / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
        written.append(path)
    return written
