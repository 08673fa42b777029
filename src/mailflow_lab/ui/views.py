"""The lab widgets the notebooks import from here: trace table, mailbox viewer, transcript, DNS editor."""

from __future__ import annotations

from .dns_editor import RECORD_TYPES as RECORD_TYPES
from .dns_editor import TXT_CHUNK as TXT_CHUNK
from .dns_editor import DNSEditor, dns_editor
from .dns_editor import shown_value as shown_value
from .dns_editor import txt_value as txt_value
from .mailbox_view import AUTH_HEADERS as AUTH_HEADERS
from .mailbox_view import FOLDERS as FOLDERS
from .mailbox_view import MailboxViewer, mailbox_viewer
from .palette import FAIL_COLOUR as FAIL_COLOUR
from .trace_view import STATUS_COLOURS as STATUS_COLOURS
from .trace_view import TraceTable, trace_html, trace_table
from .transcript_view import SIDE_COLOURS as SIDE_COLOURS
from .transcript_view import transcript_html, transcript_view

__all__ = [
    "DNSEditor",
    "MailboxViewer",
    "TraceTable",
    "dns_editor",
    "mailbox_viewer",
    "trace_html",
    "trace_table",
    "transcript_html",
    "transcript_view",
]
