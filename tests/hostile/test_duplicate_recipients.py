"""The same recipient twice (or in another case) in one message: accepted, delivered once (RFC 5321)."""

from __future__ import annotations

import pytest
from hostile_kit import MX, SCANNER, Wire, message, signed_in, stored_messages

from mailflow_lab import Lab


def mx(lab: Lab) -> Wire:
    wire = Wire(lab.endpoint(MX, 25))
    wire.ehlo("printer.contoso.local")
    assert wire.cmd("MAIL FROM:<printer@contoso.com>").startswith("250 ")
    return wire


def submitting(lab: Lab) -> Wire:
    wire = signed_in(lab, "scanner.contoso.local")
    assert wire.cmd(f"MAIL FROM:<{SCANNER[0]}>").startswith("250 ")
    return wire


@pytest.mark.parametrize(("opener", "sender"), [(mx, "printer@contoso.com"), (submitting, SCANNER[0])],
                         ids=["mx", "submission"])  # fmt: skip
def test_a_recipient_named_twice_gets_one_copy(lab: Lab, opener: object, sender: str) -> None:
    with opener(lab) as wire:  # type: ignore[operator]
        for rcpt in ("alex@contoso.com", "ALEX@contoso.com", "alex@contoso.com"):
            assert wire.cmd(f"RCPT TO:<{rcpt}>").startswith("250 2.1.5")
        assert wire.data(message("twice", sender=sender)).startswith("250 ")
    copies = [m for m in stored_messages(lab) if m.subject == "twice" and m.mailbox == "alex@contoso.com"]
    assert len(copies) == 1
    assert len([m for m in stored_messages(lab) if m.folder == "Sent Items"]) == (opener is submitting)
    [row] = lab.message_trace(recipient="alex@contoso.com")
    assert row.status in ("Delivered", "FilteredAsSpam")
    assert lab.runtime.errors == []
