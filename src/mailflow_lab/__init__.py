"""mailflow-lab: learn how devices send mail through Microsoft 365, against a faithful local lab."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from .auth.spf import SpfVerdict, check_spf
from .client.device import Device, Outcome, SendResult
from .lab.lab import Lab
from .labdns.resolver import LabDNS
from .world.datafile import LabDataError

if TYPE_CHECKING:
    from .scenarios.session import LoadedScenario

__all__ = ["Device", "Lab", "LabDNS", "LabDataError", "Outcome", "SendResult", "SpfVerdict", "check_spf"]
__version__ = "0.1.0"

# Module paths of release 0.1 that moved into the layer folders: importing one still works for this
# release (with a DeprecationWarning naming the new path), so notebooks written for 0.1 keep running.
MOVED_MODULES = {
    "advice": "policy.advice",
    "clock": "world.clock",
    "course": "ui.course",
    "datafile": "world.datafile",
    "device": "client.device",
    "leftovers": "store.statedir",
    "listening": "lab.listening",
    "mailstore": "store.mailstore",
    "readiness": "lab.readiness",
    "relay": "delivery.relay",
    "runtime": "store.runtime",
    "sessions": "store.sessions",
    "tlsmaterial": "lab.tlsmaterial",
    "tokens": "auth.oauth",
    "trace": "store.trace",
    "transcript": "client.transcript",
    "transport": "delivery.transport",
}


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds `mailflow_lab.<old name>` and hands back the module at its new path."""

    def __init__(self) -> None:
        self._specs: dict[str, importlib.machinery.ModuleSpec | None] = {}

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> object:
        prefix, _, name = fullname.rpartition(".")
        if prefix != __name__ or name not in MOVED_MODULES:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = f"{__name__}.{MOVED_MODULES[spec.name.rpartition('.')[2]]}"
        warnings.warn(
            f"{spec.name} moved to {new}; the old path goes in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        module = importlib.import_module(new)
        self._specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The import system has just given the module the old name's spec: give it its own back.
        module.__spec__ = self._specs.pop(module.__spec__.name, module.__spec__)  # type: ignore[union-attr]


def _load_scenario(self: Lab, name: str | Path) -> LoadedScenario:
    """Lab.load_scenario of release 0.1: now `mailflow_lab.scenarios.load_into(lab, name)`.

    Kept for this release, attached here at the top of the package: the lab layer sits below the
    scenarios layer and may not import it.
    """
    warnings.warn(
        "Lab.load_scenario(name) moved to mailflow_lab.scenarios.load_into(lab, name)",
        DeprecationWarning,
        stacklevel=2,
    )
    from .scenarios.session import load_into

    return load_into(self, name)


Lab.load_scenario = _load_scenario  # type: ignore[attr-defined]

if not any(isinstance(finder, _MovedModuleFinder) for finder in sys.meta_path):
    sys.meta_path.append(_MovedModuleFinder())
