"""CHUNKING (RFC 3030): which BDAT commands an endpoint takes, and what it answers to each chunk."""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import replies as R
from .decision import Decision
from .session import SessionLimits, header_end, header_refusal

# RFC 3030 §2: "BDAT" SP chunk-size [ SP end-marker ], chunk-size 1*DIGIT. Lab choice: at most 12 digits
# (more than any SIZE the lab advertises).
_BDAT = re.compile(r"^(\d{1,12})(?: +(LAST))? *$", re.IGNORECASE)


@dataclass(frozen=True)
class Chunk:
    """One BDAT command as parsed: the size of the chunk that follows and whether it is the last."""

    size: int
    last: bool


def parse_bdat(arg: str | None) -> Chunk | None:
    """The chunk a BDAT argument announces; None when it is malformed (no size can be trusted)."""
    match = _BDAT.match(arg or "")
    if match is None:
        return None
    return Chunk(int(match[1]), match[2] is not None)


def malformed(arg: str | None) -> Decision:
    """A BDAT whose size cannot be read: its data cannot be told apart from the commands that follow, so the
    lab answers 501 and closes the session (lab choice: reading on would run message data as commands)."""
    return Decision(R.SYNTAX_ERROR, "protocol.syntax", f"BDAT {arg or ''!r} names no chunk size")


def sequence_problem(
    *, greeted: bool, has_sender: bool, recipients: int, failed: bool = False
) -> Decision | None:
    """Whether BDAT may come now (RFC 3030 §2: after MAIL and at least one accepted RCPT). The chunk is read
    and discarded either way (§4.2: the data follows the command at once, pipelined)."""
    if not greeted:
        return Decision(R.SEND_HELLO_FIRST, "protocol.hello-first", "BDAT before EHLO")
    if failed or not has_sender:
        # §4.2: after a failed chunk the transaction is over; later BDATs get 503 until a new MAIL.
        return Decision(R.NEED_MAIL, "protocol.need-mail", "BDAT without a MAIL FROM in this transaction")
    if recipients == 0:
        why = "BDAT with no accepted recipient (RCPT TO) in this transaction"
        return Decision(R.NEED_RCPT, "protocol.need-rcpt", why)
    return None


def data_problem(*, has_sender: bool, chunked: bool, binarymime: bool) -> Decision | None:
    """DATA after EHLO: before MAIL FROM (Exchange asks for MAIL first, where aiosmtpd asks for RCPT), in a
    transaction that began with BDAT, or whose MAIL declared BODY=BINARYMIME (RFC 3030 §3)."""
    if not has_sender:
        return Decision(R.NEED_MAIL, "protocol.need-mail", "DATA without a MAIL FROM in this transaction")
    if chunked:
        return Decision(R.BAD_SEQUENCE_MAIL, "protocol.bad-sequence", "DATA after BDAT in one transaction")
    if binarymime:
        why = "MAIL FROM declared BODY=BINARYMIME, which only BDAT can carry"
        return Decision(R.BINARYMIME_NEEDS_BDAT, "chunking.binarymime-data", why)
    return None


def too_big(total: int, limit: int) -> Decision | None:
    """The chunks so far add up to more than the advertised SIZE (552 5.3.4, as for DATA)."""
    if limit and total > limit:
        return Decision(
            R.MESSAGE_TOO_BIG, "submission.limit.size", f"{total} bytes, over the {limit} advertised"
        )
    return None


def header_problem(content: bytes | bytearray, limits: SessionLimits) -> Decision | None:
    """The chunks so far hold a header over MaxHeaderSize (ended or not yet): the transaction fails."""
    end = header_end(content)
    return header_refusal(len(content) if end is None else end, limits)
