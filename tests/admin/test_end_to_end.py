"""Issue 4 done: a send fails, the admin types the real cmdlet line, the same send succeeds."""

from __future__ import annotations

from pathlib import Path

from mailflow_lab import Device, Lab, SendResult
from mailflow_lab.admin.objects import PowerShellResult
from mailflow_lab.admin.shell import run
from mailflow_lab.store.statedir import open_state

MX = "contoso-com.mail.protection.outlook.com"
TENANT_OFF = (
    "Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. "
    "Visit https://aka.ms/smtp_auth_disabled for more information."
)
SECURITY_DEFAULTS = (
    "Authentication unsuccessful, user is locked by your organization's security defaults policy. "
    "Contact your administrator."
)


def alex() -> Device:
    return Device(
        "alex",
        server="smtp.office365.com",
        port=587,
        tls="starttls",
        username="alex@contoso.com",
        password="Alex#2026",
        sender="alex@contoso.com",
    )


def printer() -> Device:
    return Device("printer", server=MX, port=25, tls="none", sender="printer@contoso.com")


def ok(lab: Lab, text: str) -> PowerShellResult:
    result = lab.powershell(text)
    assert result.ok, f"{text!r} failed: {result.error}"
    return result


def reply(result: SendResult) -> tuple[int, str | None]:
    assert result.reply is not None, result.error
    return result.reply.code, result.reply.enhanced


def test_smtp_auth_for_one_mailbox(lab: Lab) -> None:
    refused = alex().send(lab, to="pat@fabrikam.com", subject="Before")
    assert not refused.accepted and reply(refused) == (535, "5.7.139")
    assert refused.reply is not None and refused.reply.without_diagnostics().text == TENANT_OFF
    changed = ok(lab, "Set-CASMailbox -Identity alex@contoso.com -SmtpClientAuthenticationDisabled $false")
    assert any("30 minutes" in w for w in changed.warnings)
    sent = alex().send(lab, to="pat@fabrikam.com", subject="After")
    assert sent.accepted and reply(sent) == (250, "2.0.0")
    assert sent.outcome["pat@fabrikam.com"].where == "Inbox"
    # $null: alex follows the tenant again, which is off
    ok(lab, "Set-CASMailbox alex -SmtpClientAuthenticationDisabled $null")
    assert reply(alex().send(lab, to="pat@fabrikam.com")) == (535, "5.7.139")


def test_smtp_auth_for_the_tenant(lab: Lab) -> None:
    assert reply(alex().send(lab, to="pat@fabrikam.com")) == (535, "5.7.139")
    ok(lab, "Set-TransportConfig -SmtpClientAuthenticationDisabled $false")
    assert alex().send(lab, to="pat@fabrikam.com").accepted
    # the mailbox's own $true wins over the tenant's $false
    ok(lab, "Set-CASMailbox alex -SmtpClientAuthenticationDisabled $true")
    assert reply(alex().send(lab, to="pat@fabrikam.com")) == (535, "5.7.139")


def test_reject_direct_send(lab: Lab) -> None:
    first = printer().send(lab, to="alex@contoso.com", subject="Direct 1")
    assert first.accepted and reply(first) == (250, "2.6.0")
    ok(lab, "Set-OrganizationConfig -RejectDirectSend $true")
    refused = printer().send(lab, to="alex@contoso.com", subject="Direct 2")
    assert not refused.accepted and reply(refused) == (550, "5.7.68")
    assert refused.reply is not None and "Direct Send not allowed" in refused.reply.text
    ok(lab, "Set-OrganizationConfig -RejectDirectSend $false")
    again = printer().send(lab, to="alex@contoso.com", subject="Direct 3")
    assert again.accepted and reply(again) == (250, "2.6.0")
    subjects = [
        str(m["Subject"]) for f in ("Inbox", "Junk Email") for m in lab.mailbox("alex@contoso.com").folder(f)
    ]
    assert sorted(subjects) == ["Direct 1", "Direct 3"]


def test_inbound_connector_by_ip_relays_to_the_internet(lab: Lab) -> None:
    refused = printer().send(lab, to="pat@fabrikam.com", subject="Relay 1")
    assert not refused.accepted and reply(refused) == (550, "5.7.64")
    ok(
        lab,
        'New-InboundConnector -Name "Office printers" -ConnectorType OnPremises -SenderDomains * '
        "-SenderIPAddresses 203.0.113.10",
    )
    relayed = printer().send(lab, to="pat@fabrikam.com", subject="Relay 2")
    assert relayed.accepted and reply(relayed) == (250, "2.6.0")
    assert relayed.outcome["pat@fabrikam.com"].where == "Inbox"
    (message,) = lab.mailbox("pat@fabrikam.com").folder("Inbox")
    assert str(message["Subject"]) == "Relay 2"
    # turned off, the connector no longer recognises the printer
    ok(lab, "Set-InboundConnector 'Office printers' -Enabled $false")
    assert reply(printer().send(lab, to="pat@fabrikam.com")) == (550, "5.7.64")
    ok(lab, "Set-InboundConnector 'Office printers' -Enabled $true")
    assert printer().send(lab, to="pat@fabrikam.com").accepted
    ok(lab, "Remove-InboundConnector 'Office printers' -Confirm:$false")
    assert reply(printer().send(lab, to="pat@fabrikam.com")) == (550, "5.7.64")


def test_send_as_a_shared_mailbox(lab: Lab) -> None:
    scanner = lab.device("Lobby scanner")
    scanner.sender = "helpdesk@contoso.com"
    denied = scanner.send(lab, to="alex@contoso.com", subject="As helpdesk 1")
    assert not denied.accepted and reply(denied) == (554, "5.2.252")
    ok(lab, "Add-RecipientPermission -Identity helpdesk -Trustee scanner -AccessRights SendAs")
    sent = scanner.send(lab, to="alex@contoso.com", subject="As helpdesk 2")
    assert sent.accepted and sent.outcome["alex@contoso.com"].where == "Inbox"
    ok(lab, "Remove-RecipientPermission helpdesk -Trustee scanner -AccessRights SendAs -Confirm:$false")
    assert reply(scanner.send(lab, to="alex@contoso.com")) == (554, "5.2.252")


def test_dkim_signing_falls_back_to_the_initial_domain(lab: Lab) -> None:
    scanner = lab.device("Lobby scanner")
    assert scanner.send(lab, to="pat@fabrikam.com", subject="Signed 1").accepted
    ok(lab, "Set-DkimSigningConfig contoso.com -Enabled $false")
    assert scanner.send(lab, to="pat@fabrikam.com", subject="Signed 2").accepted
    received = {str(m["Subject"]): m for m in lab.mailbox("pat@fabrikam.com").folder("Inbox")}
    assert "d=contoso.com;" in str(received["Signed 1"]["DKIM-Signature"])
    assert "d=contoso.onmicrosoft.com;" in str(received["Signed 2"]["DKIM-Signature"])
    assert "dkim=pass header.d=contoso.onmicrosoft.com" in str(received["Signed 2"]["Authentication-Results"])


def test_security_defaults_lock_out_smtp_auth(lab: Lab) -> None:
    scanner = lab.device("Lobby scanner")
    assert scanner.send(lab, to="alex@contoso.com").accepted
    ok(lab, "Update-MgPolicyIdentitySecurityDefaultEnforcementPolicy -IsEnabled $true")
    locked = scanner.send(lab, to="alex@contoso.com")
    assert not locked.accepted and reply(locked) == (535, "5.7.139")
    assert locked.reply is not None and locked.reply.without_diagnostics().text == SECURITY_DEFAULTS
    ok(lab, "Update-MgPolicyIdentitySecurityDefaultEnforcementPolicy -IsEnabled $false")
    assert scanner.send(lab, to="alex@contoso.com").accepted


def test_trace_shows_what_the_fix_changed(lab: Lab) -> None:
    ok(lab, "Set-CASMailbox alex@contoso.com -SmtpClientAuthenticationDisabled $false")
    sent = alex().send(lab, to="pat@fabrikam.com", subject="Traced")
    assert sent.accepted
    (row,) = ok(lab, "Get-MessageTraceV2 -SenderAddress alex@contoso.com -RecipientAddress pat@fabrikam.com")
    assert (row["Subject"], row["Status"], row["MessageId"]) == ("Traced", "Delivered", sent.message_id)


def test_a_failing_line_leaves_sending_as_it_was(lab: Lab) -> None:
    result = lab.powershell(
        "Set-CASMailbox alex -SmtpClientAuthenticationDisabled $false; "
        "Set-CASMailbox nobody -SmtpClient $false"
    )
    assert result.error is not None and "'nobody' couldn't be found" in result.error
    assert alex().send(lab, to="pat@fabrikam.com").accepted  # the statement before the failure stays
    result = lab.powershell("Set-OrganizationConfig -RejectDirectSend $true -Bogus 1")
    assert not result.ok
    assert printer().send(lab, to="alex@contoso.com").accepted


def test_changes_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with Lab.start(state_dir=state) as first:
        ok(
            first,
            "Set-CASMailbox alex -SmtpClientAuthenticationDisabled $false\n"
            "Set-OrganizationConfig -RejectDirectSend $true\n"
            "New-InboundConnector 'Office printers' -ConnectorType OnPremises -SenderDomains * "
            "-SenderIPAddresses 203.0.113.10\n"
            "Add-RecipientPermission helpdesk -Trustee scanner -AccessRights SendAs\n"
            "Set-DkimSigningConfig contoso.com -Enabled $false",
        )
        shown = {q: ok(first, q).text() for q in QUERIES}
    with Lab.start(state_dir=state) as second:
        assert {q: ok(second, q).text() for q in QUERIES} == shown
        assert ok(second, "Get-CASMailbox alex")[0]["SmtpClientAuthenticationDisabled"] is False
        assert alex().send(second, to="pat@fabrikam.com").accepted
        assert printer().send(second, to="pat@fabrikam.com").accepted  # through the connector
        copier = second.device("Branch copier")  # another address: direct send, now rejected
        assert reply(copier.send(second, to="alex@contoso.com")) == (550, "5.7.68")
        scanner = second.device("Lobby scanner")
        scanner.sender = "helpdesk@contoso.com"
        assert scanner.send(second, to="alex@contoso.com").accepted


QUERIES = (
    "Get-CASMailbox",
    "Get-OrganizationConfig",
    "Get-TransportConfig",
    "Get-InboundConnector",
    "Get-RecipientPermission",
    "Get-DkimSigningConfig",
    "Get-AcceptedDomain",
)


def test_a_change_from_another_process_applies_to_the_next_session(lab: Lab) -> None:
    # What `mailflow-lab ps --state DIR '...'` does, while this lab serves the same folder.
    assert reply(alex().send(lab, to="pat@fabrikam.com")) == (535, "5.7.139")
    other = run(
        open_state(lab.state_dir),
        "Set-CASMailbox -Identity alex@contoso.com -SmtpClientAuthenticationDisabled $false",
    )
    assert other.ok, other.error
    assert alex().send(lab, to="pat@fabrikam.com").accepted
    assert ok(lab, "Get-CASMailbox alex")[0]["SmtpClientAuthenticationDisabled"] is False
