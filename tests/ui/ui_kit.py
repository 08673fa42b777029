"""Helpers for the widget tests: a widget's HTML as a reader sees it."""

from __future__ import annotations

import re


def text_of(markup: str) -> str:
    """HTML as a reader sees it: tags dropped, entities for quotes and angle brackets undone."""
    plain = re.sub(r"<[^>]+>", " ", markup)
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#x27;", "'"), ("&amp;", "&")):
        plain = plain.replace(entity, char)
    return " ".join(plain.split())
