"""New-Mailbox -Shared: a mailbox for an address a device sends to, kept across a restart of the lab."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailflow_lab import Device, Lab
from mailflow_lab.world.state import load_tenant


def test_a_shared_mailbox_receives_what_was_refused_before(lab: Lab) -> None:
    printer = Device(
        "Copier", server="contoso-com.mail.protection.outlook.com", port=25, sender="copier@contoso.com"
    )
    refused = printer.send(lab, to="scans@contoso.com")
    assert refused.reply is not None and (refused.reply.code, refused.reply.enhanced) == (550, "5.4.1")
    created = lab.powershell('New-Mailbox -Shared -Name "Scans" -PrimarySmtpAddress scans@contoso.com')
    assert created.ok and created.objects[0]["RecipientTypeDetails"] == "SharedMailbox"
    assert printer.send(lab, to="scans@contoso.com").outcome["scans@contoso.com"].where in (
        "Inbox",
        "Junk Email",
    )


@pytest.mark.parametrize(
    ("line", "address"),
    [
        ('New-Mailbox -Shared -Name "Front Desk"', "frontdesk@contoso.com"),
        ("New-Mailbox -Shared -Name Scans -Alias scan.inbox", "scan.inbox@contoso.com"),
        ("New-Mailbox Scans -Shared -PrimarySmtpAddress Scans@Contoso.com", "scans@contoso.com"),
    ],
)
def test_the_address_is_derived_as_exchange_derives_it(lab: Lab, line: str, address: str) -> None:
    result = lab.powershell(line)
    assert result.ok, result.error
    assert result.objects[0]["PrimarySmtpAddress"] == address
    assert lab.world.tenant.find_mailbox(address) is not None


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("New-Mailbox -Name Scans", "shared mailboxes only"),
        ("New-Mailbox -Shared -Name Scans -PrimarySmtpAddress scans@fabrikam.com", "not an accepted domain"),
        ("New-Mailbox -Shared -Name Scans -PrimarySmtpAddress alex@contoso.com", "already being used"),
        ("New-Mailbox -Shared -Name Scans -PrimarySmtpAddress not-an-address", "not a valid SMTP address"),
        ('New-Mailbox -Shared -Name "Scans" -Alias "two words"', "cannot have"),
        ("New-Mailbox -Shared", "Name"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(lab: Lab, line: str, error: str) -> None:
    before = len(lab.world.tenant.mailboxes)
    result = lab.powershell(line)
    assert not result.ok and error in (result.error or "")
    assert len(lab.world.tenant.mailboxes) == before


def test_the_new_mailbox_is_saved_with_the_tenant(lab: Lab) -> None:
    assert lab.powershell("New-Mailbox -Shared -Name Scans").ok
    saved = load_tenant(Path(lab.state_dir))
    assert saved is not None and saved.find_mailbox("scans@contoso.com") is not None
