"""`mailflow-lab check-device`: a device's test message in a lab of a world, its reply, verdict and fixes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailflow_lab.cli import main
from mailflow_lab.lab.check_device import check_device, device_from_options, tls_version_name
from mailflow_lab.world.loader import data_dir

WORLD = str(data_dir() / "worlds" / "contoso.toml")
SCANNER = ["--username", "scanner@contoso.com", "--password", "Scan#2026", "--sender", "scanner@contoso.com"]
DIRECT_SEND = [
    "--server", "contoso-com.mail.protection.outlook.com", "--port", "25", "--tls", "none",
    "--sender", "printer@contoso.com", "--source-ip", "203.0.113.10",
]  # fmt: skip


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check-device", "--world", WORLD, *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_lobby_scanner_reaches_the_inbox(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, *SCANNER)
    assert code == 0, out
    assert "Reply: 250 2.0.0 OK" in out
    assert "Landed: Inbox of alex@contoso.com" in out  # the default recipient: a user mailbox of the tenant
    assert "[works] SMTP AUTH client submission (recommended)" in out
    assert "password=********" in out and "Scan#2026" not in out


def test_smtp_auth_off_for_the_tenant_prints_the_cas_mailbox_fix(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--username", "alex@contoso.com", "--password", "Alex#2026", "--sender", "alex@contoso.com"]
    code, out, _ = _run(capsys, *args)
    assert code == 1
    assert "Reply: 535 5.7.139 Authentication unsuccessful" in out
    assert "Landed: refused at AUTH" in out
    fixes = out.split("\nFixes:\n", 1)[1]
    cmdlet = "Set-CASMailbox -Identity alex@contoso.com -SmtpClientAuthenticationDisabled $false"
    assert f"in the tenant: {cmdlet}" in fixes


def test_tls_1_0_device_prints_the_legacy_tls_fix(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, *SCANNER, "--tls-version", "1.0")
    assert code == 1
    assert "Reply: 421 4.7.66 TLS 1.0 and 1.1 are not supported" in out
    assert "Landed: refused at TLS" in out
    fixes = out.split("\nFixes:\n", 1)[1]
    assert "in the tenant: Set-TransportConfig -AllowLegacyTLSClients $true" in fixes
    assert "smtp-legacy.office365.com" in fixes


def test_direct_send_to_a_mailbox_of_the_tenant_lands_in_junk(capsys: pytest.CaptureFixture[str]) -> None:
    # SPF of contoso.com does not list the office's 203.0.113.10: accepted, then filed as Junk Email.
    code, out, _ = _run(capsys, *DIRECT_SEND, "--to", "alex@contoso.com")
    assert code == 1, out
    assert "Reply: 250 2.6.0" in out
    assert "Landed: Junk Email of alex@contoso.com" in out
    assert "[works] Direct send (recommended)" in out
    assert 'contoso.com. 3600 IN TXT "v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com ~all"' in out


def test_direct_send_outside_is_refused_at_rcpt(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, *DIRECT_SEND, "--to", "pat@fabrikam.com")
    assert code == 1
    assert "Reply: 550 5.7.64 TenantAttribution; Relay Access Denied" in out
    assert "Landed: refused at RCPT" in out
    assert "direct send delivers to your own mailboxes only" in out


def test_nothing_answering_is_not_sent(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, *SCANNER, "--port", "465")
    assert code == 1
    assert "Reply: could not connect to smtp.office365.com:465: nothing answers there" in out
    assert "Landed: not sent: stopped at connect" in out
    assert "the device never reached an endpoint" in out


def test_json_parses_and_says_the_same(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, *SCANNER, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["reply_code"] == 250 and data["landed"] == "Inbox" and data["delivered"] is True
    assert data["recipient"] == "alex@contoso.com"
    assert data["device"]["password"] == "********" and "Scan#2026" not in out
    assert data["readiness"]["usable_today"] == ["smtp-auth"]
    assert data["readiness_text"].startswith("== device-under-test.local at 203.0.113.10")
    assert all({"option", "why", "device", "tenant"} <= set(f) for f in data["fixes"])


def test_json_of_a_refusal_names_the_step_and_fix(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--username", "alex@contoso.com", "--password", "Alex#2026", "--sender", "alex@contoso.com"]
    code, out, _ = _run(capsys, *args, "--json")
    data = json.loads(out)
    assert code == 1 and data["reply_code"] == 535 and data["enhanced_code"] == "5.7.139"
    assert data["landed"] == "refused" and data["step"] == "AUTH"
    assert any("Set-CASMailbox" in line for f in data["fixes"] for line in f["tenant"])


def test_unknown_world_is_exit_2_naming_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    code = main(["check-device", "--world", str(missing), *SCANNER])
    _, err = capsys.readouterr()
    assert code == 2
    assert str(missing) in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [("--tls-version", "2.0", "--tls-version"), ("--source-ip", "not-an-ip", "--source-ip")],
)
def test_malformed_option_is_exit_2_in_one_line(
    capsys: pytest.CaptureFixture[str], option: str, value: str, named: str
) -> None:
    code = main(["check-device", "--world", WORLD, *SCANNER, option, value])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.startswith(f"mailflow-lab: {named}") and len(err.strip().splitlines()) == 1


def test_malformed_port_and_missing_sender_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["--port", "seventy", *SCANNER], ["--username", "scanner@contoso.com"]):
        with pytest.raises(SystemExit) as exit_:
            main(["check-device", "--world", WORLD, *args])
        assert exit_.value.code == 2
    assert "--port" in capsys.readouterr().err


def test_tls_version_names() -> None:
    assert [tls_version_name(v) for v in ("1.0", "1", "TLSv1.1", "1.2", "TLS1.3")] == [
        "TLSv1", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="--tls-version"):
        tls_version_name("1.4")


def test_check_device_in_a_given_state_folder_leaves_its_report(tmp_path: Path) -> None:
    from mailflow_lab.lab.readiness import readiness_report

    device = device_from_options(
        sender="scanner@contoso.com", username="scanner@contoso.com", password="Scan#2026", helo="scan01.lan"
    )
    check = check_device(WORLD, device, "alex@contoso.com", state_dir=tmp_path / "state")
    assert check.delivered and check.readiness is not None
    # What check-device printed is what `mailflow-lab report --state` says of the same device.
    report = readiness_report(tmp_path / "state")
    assert report.device("scan01.lan").to_dict() == check.readiness.to_dict()
