"""Real SMTP clients against the lab on 127.0.0.1, each judged by the device readiness report.

Each client stands for a device an admin brings: swaks (a scanner with STARTTLS and AUTH LOGIN, a printer
without TLS, a relay device with a client certificate), msmtp configured as monitoring apps use it, Python's
smtplib pinned to TLS 1.2 or to TLS 1.0/1.1, and a raw socket that opens with a TLS ClientHello (a device set
to port 465). The report is read from the state folder, as `mailflow-lab report` in another process reads it.
Devices are told apart by their EHLO name (all come from 127.0.0.1, without XCLIENT).
"""

from __future__ import annotations

import shutil
import smtplib
import socket
import ssl
import subprocess
import time
import uuid
import warnings
from pathlib import Path

import pytest

from mailflow_lab import Lab
from mailflow_lab.lab.readiness import readiness_report
from mailflow_lab.policy.readiness import DeviceReadiness
from mailflow_lab.store.sessions import load_sessions
from real_clients import needs

SWAKS = shutil.which("swaks")
MSMTP = shutil.which("msmtp")
SUBMISSION = ("smtp.office365.com", 587)
MX = ("contoso-com.mail.protection.outlook.com", 25)
SCANNER = ("scanner@contoso.com", "Scan#2026")
ALEX = ("alex@contoso.com", "Alex#2026")
RUN_TIMEOUT_S = 30

needs_swaks = needs("swaks")
needs_msmtp = needs("msmtp")


@pytest.fixture
def ca(lab: Lab, tmp_path: Path) -> Path:
    return lab.ca.write_ca(tmp_path / "lab-ca.pem")


def report_for(lab: Lab, ehlo: str | None, sessions: int = 1) -> DeviceReadiness:
    """The device's readiness from the state folder, once the lab has recorded its sessions.

    A session is recorded as the server sees it close, a moment after the client has exited.
    """
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        seen = [r for r in load_sessions(lab.state_dir) if r.ehlo == ehlo]
        if len(seen) >= sessions:
            break
        time.sleep(0.05)
    return readiness_report(lab.state_dir).device(ehlo, "127.0.0.1")


def blockers(device: DeviceReadiness, option: str) -> list[str]:
    return [b.rule for b in device.option(option).blockers]


def swaks(lab: Lab, endpoint: tuple[str, int], ehlo: str, *args: str, to: str = "alex@contoso.com") -> str:
    host, port = lab.endpoint(*endpoint)
    command = [str(SWAKS), "--server", host, "--port", str(port), "--ehlo", ehlo, "--to", to]
    command += ["--header", f"Subject: readiness {uuid.uuid4().hex[:8]}", "--timeout", "20s", *args]
    done = subprocess.run(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    return done.stdout


# -- swaks ---------------------------------------------------------------------------------------------
@needs_swaks
def test_swaks_starttls_and_auth_login_works_for_smtp_auth(lab: Lab, ca: Path) -> None:
    out = swaks(
        lab, SUBMISSION, "scanner.lobby.local", "-tls", "--tls-ca-path", str(ca), "--tls-verify",
        "-a", "LOGIN", "-au", SCANNER[0], "-ap", SCANNER[1], "--from", SCANNER[0],
    )  # fmt: skip
    assert "235 2.7.0 Authentication successful" in out, out

    device = report_for(lab, "scanner.lobby.local")
    auth = device.option("smtp-auth")
    assert auth.status == "works" and device.recommended == "smtp-auth"
    assert auth.settings["User name"] == SCANNER[0] and auth.settings["Server"] == "smtp.office365.com"
    assert any(line.startswith("STARTTLS: TLSv1.") for line in device.observed)
    assert f"AUTH LOGIN as {SCANNER[0]}: 235 2.7.0 Authentication successful" in device.observed
    # Nothing tried at the MX, and no connector knows the office address: relay is blocked, with the cmdlet.
    assert device.option("direct-send").status == "untested"
    assert blockers(device, "relay") == ["readiness.no-connector"]
    assert any("-SenderIPAddresses 203.0.113.10" in t for t in device.option("relay").blockers[0].tenant)


@needs_swaks
def test_swaks_without_tls_direct_send_works_smtp_auth_needs_starttls(lab: Lab) -> None:
    ehlo = "printer.warehouse.local"
    # The printer as it is set up: no TLS, no sign-in, to smtp.office365.com (451 5.7.3 at MAIL FROM)...
    out = swaks(lab, SUBMISSION, ehlo, "--from", "printer@contoso.com")
    assert "451 5.7.3 STARTTLS is required to send mail" in out, out
    report_for(lab, ehlo)
    # ... then to the tenant MX on port 25, still without TLS: direct send to an internal mailbox.
    out = swaks(lab, MX, ehlo, "--from", "printer@contoso.com")
    assert "250 2.6.0" in out, out

    device = report_for(lab, ehlo, sessions=2)
    assert device.sessions == 2
    assert device.option("direct-send").status == "works"
    assert device.recommended == "direct-send" and "direct-send" in device.usable_today
    assert blockers(device, "smtp-auth") == ["readiness.no-starttls"]
    fix = device.option("smtp-auth").blockers[0]
    assert "Port: 587" in fix.device and any("STARTTLS" in s for s in fix.device)
    # The office address is not in contoso.com's SPF: the report says so, with the record to publish.
    assert any(
        "SPF of printer@contoso.com from 203.0.113.10 is fail" in n
        for n in device.option("direct-send").notes
    )


@needs_swaks
def test_swaks_with_a_client_certificate_needs_a_certificate_connector(
    lab: Lab, ca: Path, tmp_path: Path
) -> None:
    ehlo = "relay.contoso.com"
    cert, key = lab.client_certificate("relay.contoso.com").write(tmp_path / "client")
    args = ["-tls", "--tls-ca-path", str(ca), "--tls-cert", str(cert), "--tls-key", str(key)]
    out = swaks(lab, MX, ehlo, *args, "--from", "copier@contoso.com", to="pat@fabrikam.com")
    assert "550 5.7.64 TenantAttribution; Relay Access Denied" in out, out

    device = report_for(lab, ehlo)
    assert "Client certificate: relay.contoso.com" in device.observed
    assert device.option("relay").status == "blocked" and device.recommended is None
    (fix,) = device.option("relay").blockers
    assert fix.tenant == (
        'New-InboundConnector -Name "Device relay" -ConnectorType OnPremises -SenderDomains * '
        "-TlsSenderCertificateName relay.contoso.com -RequireTls $true",
    )
    assert blockers(device, "direct-send") == ["readiness.direct-send-external"]

    # The admin runs the cmdlet the report gave; the device sends again: relay works.
    assert not lab.powershell(fix.tenant[0]).error
    out = swaks(lab, MX, ehlo, *args, "--from", "copier@contoso.com", to="pat@fabrikam.com")
    assert "250 2.6.0" in out, out
    device = report_for(lab, ehlo, sessions=2)
    assert device.option("relay").status == "works" and device.recommended == "relay"
    assert device.option("direct-send").blockers == ()  # the connector now carries its outside mail


# -- msmtp, as monitoring apps (Nagios, Zabbix, cron) use it ---------------------------------------------
def msmtp_send(
    lab: Lab, ca: Path, tmp_path: Path, ehlo: str, user: str, password: str
) -> subprocess.CompletedProcess:
    host, port = lab.endpoint(*SUBMISSION)
    config = tmp_path / f"msmtprc-{ehlo}"
    config.write_text(
        "defaults\n"
        "tls on\n"
        "tls_starttls on\n"
        f"tls_trust_file {ca}\n"
        "tls_host_override smtp.office365.com\n"  # the lab listens on 127.0.0.1; check the real name
        "account monitoring\n"
        f"host {host}\n"
        f"port {port}\n"
        f"domain {ehlo}\n"
        "auth login\n"
        f"user {user}\n"
        f"password {password}\n"
        f"from {user}\n"
        "account default : monitoring\n"
    )
    config.chmod(0o600)  # msmtp refuses a config file with a password that others can read
    message = f"From: {user}\nTo: alex@contoso.com\nSubject: disk full on web01\n\nPROBLEM: / is 98% full\n"
    return subprocess.run(
        [str(MSMTP), "-C", str(config), "alex@contoso.com"],
        input=message, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False,
    )  # fmt: skip


@needs_msmtp
def test_msmtp_monitoring_app_works_for_smtp_auth(lab: Lab, ca: Path, tmp_path: Path) -> None:
    done = msmtp_send(lab, ca, tmp_path, "nagios.contoso.local", *SCANNER)
    assert done.returncode == 0, done.stderr

    device = report_for(lab, "nagios.contoso.local")
    assert device.option("smtp-auth").status == "works" and device.recommended == "smtp-auth"
    assert any(line.startswith("STARTTLS: TLSv1.") for line in device.observed)


@needs_msmtp
def test_msmtp_with_a_mailbox_that_follows_the_tenant_gets_the_set_casmailbox_fix(
    lab: Lab, ca: Path, tmp_path: Path
) -> None:
    done = msmtp_send(lab, ca, tmp_path, "zabbix.contoso.local", *ALEX)
    assert done.returncode != 0 and "5.7.139" in done.stderr, done.stderr

    device = report_for(lab, "zabbix.contoso.local")
    assert blockers(device, "smtp-auth") == ["readiness.smtp-auth-disabled"]
    (fix,) = device.option("smtp-auth").blockers
    assert fix.tenant == (
        "Set-CASMailbox -Identity alex@contoso.com -SmtpClientAuthenticationDisabled $false",
    )
    # The cmdlet, run in the tenant, clears the blocker at once; sending again proves it.
    assert not lab.powershell(fix.tenant[0]).error
    assert (
        readiness_report(lab.state_dir).device("zabbix.contoso.local").option("smtp-auth").status == "ready"
    )
    assert msmtp_send(lab, ca, tmp_path, "zabbix.contoso.local", *ALEX).returncode == 0
    assert report_for(lab, "zabbix.contoso.local", sessions=2).option("smtp-auth").status == "works"


# -- Python smtplib, TLS pinned -----------------------------------------------------------------------------
def smtplib_send(lab: Lab, ehlo: str, version: ssl.TLSVersion) -> tuple[int, str]:
    host, port = lab.endpoint(*SUBMISSION)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=lab.ca.ca_pem.decode())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLSVersion.TLSv1/1_1 are deprecated names
        context.minimum_version = context.maximum_version = version
    if version < ssl.TLSVersion.TLSv1_2:
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3 allows TLS 1.0/1.1 only at level 0
    with smtplib.SMTP(host, port, local_hostname=ehlo, timeout=10) as client:
        client._host = "smtp.office365.com"  # type: ignore[attr-defined]  # the name checked in its certificate
        client.starttls(context=context)
        try:
            code, text = client.ehlo()
            if code != 250:  # 421 4.7.66 comes as the answer to the EHLO after TLS 1.0/1.1
                return code, text.decode()
            client.login(*SCANNER)
            client.sendmail(SCANNER[0], ["alex@contoso.com"], b"Subject: TLS\r\n\r\nhello\r\n")
        except smtplib.SMTPResponseException as refused:
            return refused.smtp_code, refused.smtp_error.decode()
        except smtplib.SMTPServerDisconnected as gone:
            return 0, str(gone)
    return 250, "sent"


def legacy_tls_possible(version: ssl.TLSVersion) -> str | None:
    """Why this platform's OpenSSL cannot speak `version` to itself, or None when it can."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            for ctx in (server, client):
                ctx.minimum_version = ctx.maximum_version = version
                ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError) as error:
        return f"this OpenSSL cannot be set to {version.name}: {error}"
    if not getattr(ssl, f"HAS_{version.name.upper().replace('V', 'v')}", True):
        return f"this OpenSSL was built without {version.name}"
    return None


def test_smtplib_with_tls_1_2_works_for_smtp_auth(lab: Lab) -> None:
    assert smtplib_send(lab, "app.tls12.local", ssl.TLSVersion.TLSv1_2) == (250, "sent")

    device = report_for(lab, "app.tls12.local")
    assert device.option("smtp-auth").status == "works"
    assert any(line.startswith("STARTTLS: TLSv1.2 (") for line in device.observed)


@pytest.mark.parametrize("version", ["TLSv1", "TLSv1_1"])
def test_smtplib_with_tls_1_0_or_1_1_is_blocked_with_the_legacy_endpoint_fix(lab: Lab, version: str) -> None:
    tls = ssl.TLSVersion[version]
    problem = legacy_tls_possible(tls)
    if problem:
        pytest.skip(problem)
    ehlo = f"old-copier-{version.lower().replace('_', '-')}.local"  # no underscore: EHLO takes none
    try:
        code, text = smtplib_send(lab, ehlo, tls)
    except ssl.SSLError as error:  # the system's OpenSSL policy may still refuse the handshake
        pytest.skip(f"this platform's OpenSSL refuses a {version} handshake: {error.reason}")
    assert code == 421 and "4.7.66" in text, (code, text)

    device = report_for(lab, ehlo)
    assert blockers(device, "smtp-auth") == ["readiness.legacy-tls"]
    (fix,) = device.option("smtp-auth").blockers
    assert fix.tenant == ("Set-TransportConfig -AllowLegacyTLSClients $true",)
    assert any("smtp-legacy.office365.com" in s for s in fix.device)
    assert f"STARTTLS: {version.replace('_', '.')} (" in " ".join(device.observed)


# -- a device set to port 465: TLS from the first byte -----------------------------------------------------
def client_hello() -> bytes:
    """The bytes a TLS client sends first (a real ClientHello from this platform's OpenSSL)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname="smtp.office365.com")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def test_a_client_hello_on_the_plain_port_is_an_implicit_tls_device(lab: Lab) -> None:
    hello = client_hello()
    assert hello[:2] == b"\x16\x03"
    with socket.create_connection(lab.endpoint(*SUBMISSION), timeout=10) as raw:
        raw.sendall(hello)
        received = b""
        while chunk := raw.recv(4096):  # the lab hangs up: recv returns b"" (no hang)
            received += chunk
    assert received.startswith(b"220 ")  # only the banner, sent before the ClientHello was read

    device = report_for(lab, None)
    assert "Implicit TLS: a TLS ClientHello as the first bytes on smtp.office365.com:587" in device.observed
    for option in ("smtp-auth", "direct-send", "relay"):
        assert "readiness.implicit-tls" in blockers(device, option)
    (fix,) = device.option("smtp-auth").blockers
    assert fix.device[0] == "Port: 587" and "STARTTLS" in fix.device[1]
    assert device.usable_today == () and device.recommended is None
