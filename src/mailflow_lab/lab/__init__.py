"""The composition root: a running lab, its endpoints, TLS material and serving on a LAN."""

from .lab import Lab, MailboxView

__all__ = ["Lab", "MailboxView"]
