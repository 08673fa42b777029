"""A send's path as the explorer shows it: the option's diagram, the stop marked, as a PNG output or text."""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..world.model import World

DIAGRAM_DPI = 80  # a 15-inch figure 1200 pixels wide; rendering dominates the time a Send takes

Output = dict[str, Any]  # one display_data output, as widgets.Output.outputs holds them


def text_output(text: str) -> tuple[Output, ...]:
    """A plain-text display_data output (the diagram described, or why there is none)."""
    return ({"output_type": "display_data", "data": {"text/plain": text}, "metadata": {}},)


def path_outputs(
    option: str, stopped_at: str | None, outcome: str, world: World, *, draw: bool = True
) -> tuple[Output, ...]:
    """The option's path with the stop marked, as a PNG output (a text one when `draw` is off or it fails).

    A stop that is not on the option's path is moved to its endpoint; a drawing problem becomes a text
    output, never an exception (it must not hide the transcript).
    """
    try:
        from . import diagrams  # late: matplotlib is loaded only when a send is drawn
    except ImportError as exc:
        return text_output(f"No diagram: mailflow_lab.ui.diagrams is not available ({exc}).")
    figure = None
    buffer = io.BytesIO()
    try:
        path = diagrams.path_for(option)
        if stopped_at is not None and stopped_at not in path:
            stopped_at = "endpoint" if "endpoint" in path else None
        label = f"<{option} path, stopped at {stopped_at or 'nothing'}, outcome {outcome}>"
        if not draw:
            return text_output(f"{label} (drawing is off)")
        figure = diagrams.draw_option(option, stopped_at=stopped_at, outcome=outcome, world=world)
        figure.savefig(buffer, format="png", dpi=DIAGRAM_DPI)
    except Exception as exc:  # a drawing problem must not hide the transcript
        return text_output(f"No diagram: {type(exc).__name__}: {exc}")
    finally:
        _close(figure)
    png = base64.b64encode(buffer.getvalue()).decode("ascii")
    return ({"output_type": "display_data", "data": {"image/png": png, "text/plain": label}, "metadata": {}},)


def _close(figure: Any) -> None:
    """Free a pyplot-managed figure (so repeated sends do not pile figures up)."""
    if figure is None or getattr(figure.canvas, "manager", None) is None:
        return  # not made through pyplot: nothing holds on to it
    import matplotlib.pyplot as plt

    plt.close(figure)


__all__ = ["DIAGRAM_DPI", "path_outputs", "text_output"]
