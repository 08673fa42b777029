"""WidgetView (a notebook object shown as its `widget`), and what a widget shows when its lab is stopped."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

LAB_STOPPED = "The lab is stopped: run the notebook's first cell again."
STOPPED_HTML = f'<p class="mfl-lab-stopped" style="color:#b00020"><b>{LAB_STOPPED}</b></p>'


def lab_stopped(lab: Any) -> bool:
    """True when the lab a widget works on is no longer running (`lab.stop()`, or the end of Run All)."""
    return bool(getattr(lab, "stopped", False))


class WidgetView:
    """Shown in a notebook as `self.widget`, which a subclass builds in its `__init__`."""

    widget: widgets.VBox

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


__all__ = ["LAB_STOPPED", "STOPPED_HTML", "WidgetView", "lab_stopped"]
