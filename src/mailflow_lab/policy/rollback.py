"""What a message the lab failed to take whole leaves behind: no file, and trace rows that say so."""

from __future__ import annotations

from . import replies as R
from .delivery import TraceStep

# The statuses of a row whose message is still on its way: a message abandoned half-way must not keep one.
NOT_FINAL = frozenset({"GettingStatus", "Pending"})


def taken_back(status: str, events: list[str]) -> bool:
    """Whether a recipient's row of an abandoned message is marked abandoned: every row, except one whose
    copy already left the lab (a SEND to an outside server that took it: that cannot be taken back, and
    its row stays as it is)."""
    return not (status == "Delivered" and "SEND" in events)


def abandoned() -> TraceStep:
    """The row of a recipient whose message the lab could not finish taking (an internal error, answered
    with 451 4.7.0): everything it had written for the message is taken back, and the client, told to try
    again, will send it anew. Lab choice: Failed, the status Get-MessageTrace gives a message not
    delivered; the real service would retry internally instead."""
    detail = (
        "The message could not be taken in whole, so nothing of it was kept; the sending server was told "
        f"to try again: {R.TEMPORARY_SERVER_ERROR}"
    )
    return TraceStep("FAIL", detail, "lab.abandoned", "Failed")
