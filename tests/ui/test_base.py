"""WidgetView: every notebook object that holds a `widget` is shown as it, through the one base class."""

from __future__ import annotations

import ipywidgets as widgets
import pytest

from mailflow_lab.ui.base import WidgetView
from mailflow_lab.ui.breakfix import BreakFix
from mailflow_lab.ui.explorer import ScenarioExplorer
from mailflow_lab.ui.sharing import SharingExplorer
from mailflow_lab.ui.wizard import DecisionWizard


@pytest.mark.parametrize("view", [BreakFix, ScenarioExplorer, SharingExplorer, DecisionWizard])
def test_each_view_is_shown_by_the_base_class(view: type[WidgetView]) -> None:
    assert issubclass(view, WidgetView)
    assert "_ipython_display_" not in vars(view) and "_repr_mimebundle_" not in vars(view)


def test_a_widget_view_is_shown_as_its_widget() -> None:
    class Panel(WidgetView):
        def __init__(self) -> None:
            self.widget = widgets.VBox([widgets.HTML("hello")])

    panel = Panel()
    assert panel._repr_mimebundle_() == panel.widget._repr_mimebundle_()
