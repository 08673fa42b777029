"""A policy decision: the reply to send, the rule that fired, and a line for the learner."""

from __future__ import annotations

from dataclasses import dataclass

from .replies import Reply


@dataclass(frozen=True)
class Decision:
    """What the lab answers, which rule decided it, and why, in a learner's words."""

    reply: Reply
    rule: str
    explanation: str

    @property
    def accepted(self) -> bool:
        return self.reply.accepted

    def __str__(self) -> str:
        return str(self.reply)
