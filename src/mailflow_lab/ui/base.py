"""WidgetView: a notebook object that Jupyter shows as its `widget` (controls and output in one box)."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets


class WidgetView:
    """Shown in a notebook as `self.widget`, which a subclass builds in its `__init__`."""

    widget: widgets.VBox

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


__all__ = ["WidgetView"]
