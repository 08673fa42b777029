"""Issue 18, finding 2 (its second half): a message the lab fails to take whole leaves nothing behind.

The fault is a real one: the tenant's DKIM keys vanish from disk after the lab has started, so signing
the copy for an outside recipient fails after the Sent Items copy and the internal recipient's copy were
written. The client gets 451 4.7.0; every file written for the message is taken back, its trace rows are
final (Failed), and the client's retry, once the keys are back, leaves exactly one copy of each.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from hostile_kit import SCANNER, bare, message, signed_in, stored_messages

from mailflow_lab import Lab
from mailflow_lab.policy import replies as R
from mailflow_lab.policy.rollback import NOT_FINAL
from mailflow_lab.world.paths import data_dir

RECIPIENTS = ("alex@contoso.com", "pat@fabrikam.com")


def send(lab: Lab, subject: str) -> str:
    with signed_in(lab, "scanner.contoso.local") as wire:
        assert wire.cmd(f"MAIL FROM:<{SCANNER[0]}>").startswith("250 ")
        for rcpt in RECIPIENTS:
            wire.cmd(f"RCPT TO:<{rcpt}>")
        return bare(wire.data(message(subject, sender=SCANNER[0])))


def test_a_submission_that_fails_half_way_is_taken_back_and_its_retry_lands_once(tmp_path: Path) -> None:
    for folder in ("worlds", "zones", "keys"):
        shutil.copytree(data_dir() / folder, tmp_path / folder)
    with Lab.start(tmp_path / "worlds" / "contoso.toml", state_dir=tmp_path / "state") as lab:
        keys = tmp_path / "keys"
        shutil.move(keys, tmp_path / "keys-away")
        assert send(lab, "half-way") == str(R.TEMPORARY_SERVER_ERROR)
        assert [m for m in stored_messages(lab) if m.subject == "half-way"] == []
        rows = [r for r in lab.message_trace() if r.subject == "half-way"]
        assert sorted(r.recipient_address for r in rows) == sorted(RECIPIENTS)
        assert all(r.status == "Failed" and r.status not in NOT_FINAL for r in rows)
        assert len(lab.runtime.errors) == 1
        lab.runtime.errors.clear()

        shutil.move(tmp_path / "keys-away", keys)
        assert send(lab, "half-way").startswith("250 2.0.0 OK")
        copies = [(m.mailbox, m.folder) for m in stored_messages(lab) if m.subject == "half-way"]
        assert sorted(copies) == [
            ("alex@contoso.com", "Inbox"),
            ("pat@fabrikam.com", "Inbox"),
            (SCANNER[0], "Sent Items"),
        ]
        assert lab.runtime.errors == []
