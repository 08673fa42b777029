"""Mailboxes, the message trace, the session log and the state folder: what the lab keeps on disk."""
