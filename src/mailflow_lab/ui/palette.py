"""Colours the widgets share: a refusal's red, in the transcript, the DNS editor and the explorer."""

from __future__ import annotations

FAIL_COLOUR = "#b00020"

__all__ = ["FAIL_COLOUR"]
