"""The mailflow-lab command: serve a lab as a real process, send to it, read its trace, check worlds."""

from __future__ import annotations

import json
import os
import re
import signal
import smtplib
import ssl
import subprocess
import sys
from pathlib import Path

import dns.resolver
import pytest

from mailflow_lab.cli import main
from mailflow_lab.world.loader import data_dir


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "mailflow_lab", *args]


def test_serve_then_trace(tmp_path: Path) -> None:
    state = tmp_path / "state"
    process, endpoints = _start_serve(state)
    try:
        assert "smtp.office365.com:587" in endpoints, endpoints
        mx = endpoints["contoso-com.mail.protection.outlook.com:25"]
        dns_port = int(endpoints["lab DNS"].rsplit(":", 1)[1])
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers, resolver.port = ["127.0.0.1"], dns_port
        assert [r.exchange.to_text() for r in resolver.resolve("contoso.com", "MX")] == [
            "contoso-com.mail.protection.outlook.com."
        ]
        host, port = mx.split(":")
        with smtplib.SMTP(host, int(port), timeout=10) as client:
            client.ehlo("printer.local")
            client.sendmail(
                "printer@contoso.com",
                ["alex@contoso.com"],
                b"From: printer@contoso.com\r\nTo: alex@contoso.com\r\n"
                b"Subject: From the CLI\r\n\r\nhello\r\n",
            )
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "stopped" in out
    table = subprocess.run(
        _command("trace", "--state", str(state)), capture_output=True, text=True, check=True
    )
    assert "From the CLI" in table.stdout and "FilteredAsSpam" in table.stdout
    as_json = subprocess.run(
        _command("trace", "--state", str(state), "--json"), capture_output=True, text=True, check=True
    )
    (record,) = json.loads(as_json.stdout)
    assert record["RecipientAddress"] == "alex@contoso.com" and record["Status"] == "FilteredAsSpam"
    assert record["FromIP"] == "203.0.113.10"


def test_trace_without_a_lab_says_so(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["trace", "--state", str(tmp_path)]) == 2
    assert "no message trace in" in capsys.readouterr().err


def test_check_world(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert main(["check-world", "contoso"]) == 0
    assert "is fine" in capsys.readouterr().out
    broken = tmp_path / "broken.toml"
    text = (data_dir() / "worlds" / "contoso.toml").read_text().replace('"../', f'"{data_dir().as_posix()}/')
    broken.write_text(text.replace('public_ip = "203.0.113.10"', 'public_ip = "300.1.1.1"'))
    assert main(["check-world", str(broken)]) == 2
    err = capsys.readouterr().err
    assert f"{broken}: network.office.public_ip: expected an IPv4 or IPv6 address" in err


def test_bad_port_is_refused_by_argparse(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as stopped:
        main(["serve", "--mx-port", "70000"])
    assert stopped.value.code == 2
    assert "expected a port from 0 to 65535" in capsys.readouterr().err


def _start_serve(state: Path, *options: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    process = subprocess.Popen(
        _command("serve", "--state", str(state), *options),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("ready"):
            break
    return process, dict(re.findall(r"^(\S+:\d+|lab DNS) -> (127\.0\.0\.1:\d+)$", "\n".join(lines), re.M))


def _auth_as_alex(endpoint: str, ca: Path) -> int:
    host, port = endpoint.split(":")
    with smtplib.SMTP(host, int(port), timeout=10) as client:
        client._host = "smtp.office365.com"  # the name the certificate is checked against
        client.ehlo("alex-laptop.local")
        client.starttls(context=ssl.create_default_context(cafile=str(ca)))
        client.ehlo("alex-laptop.local")
        try:
            client.login("alex@contoso.com", "Alex#2026")
        except smtplib.SMTPAuthenticationError as exc:
            return exc.smtp_code
        return 235


def test_ps_changes_reach_a_running_serve(tmp_path: Path) -> None:
    state = tmp_path / "state"
    process, endpoints = _start_serve(state)
    try:
        submission = endpoints["smtp.office365.com:587"]
        assert _auth_as_alex(submission, state / "lab-ca.pem") == 535
        line = "Set-CASMailbox -Identity alex@contoso.com -SmtpClientAuthenticationDisabled $false"
        changed = subprocess.run(_command("ps", "--state", str(state), line), capture_output=True, text=True)
        assert changed.returncode == 0, changed.stderr
        assert "up to 30 minutes" in changed.stdout
        assert _auth_as_alex(submission, state / "lab-ca.pem") == 235
        shown = subprocess.run(
            _command(
                "ps", "--state", str(state), "Get-CASMailbox alex | fl Name,SmtpClientAuthenticationDisabled"
            ),
            capture_output=True,
            text=True,
            check=True,
        )
        assert "SmtpClientAuthenticationDisabled : False" in shown.stdout
        wrong = subprocess.run(
            _command("ps", "--state", str(state), "Set-Nothing"), capture_output=True, text=True
        )
        assert wrong.returncode == 1 and "is not recognized as a name of a cmdlet" in wrong.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)


def test_ps_without_a_lab_says_so(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["ps", "--state", str(tmp_path), "Get-TransportConfig"]) == 2
    assert "holds no lab" in capsys.readouterr().err


def test_report_of_a_state_folder_in_text_and_json(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from mailflow_lab import Lab

    state = tmp_path / "state"
    with Lab.start(state_dir=state) as lab:
        lab.device("Lobby scanner").send(lab, to="alex@contoso.com", subject="Scan")
        lab.device("Warehouse printer").send(lab, to="pat@fabrikam.com", subject="Invoice")
    assert main(["report", "--state", str(state)]) == 0
    text = capsys.readouterr().out
    assert "== lobby-scanner.local at 203.0.113.10 (1 session)" in text
    assert "[works] SMTP AUTH client submission (recommended)" in text
    assert "550 5.7.64 TenantAttribution; Relay Access Denied" in text
    assert main(["report", "--state", str(state), "--json"]) == 0
    devices = {d["device"]["ehlo"]: d for d in json.loads(capsys.readouterr().out)["devices"]}
    assert devices["lobby-scanner.local"]["recommended"] == "smtp-auth"
    assert devices["warehouse-printer.local"]["usable_today"] == []
    relay = next(o for o in devices["warehouse-printer.local"]["options"] if o["option"] == "relay")
    assert relay["status"] == "blocked" and relay["blockers"][0]["rule"] == "readiness.no-connector"


def test_report_without_sessions_says_so(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from mailflow_lab import Lab

    with Lab.start(state_dir=tmp_path / "state"):
        pass
    assert main(["report", "--state", str(tmp_path / "state")]) == 0
    assert "No device has talked to the lab" in capsys.readouterr().out
    assert main(["report", "--state", str(tmp_path / "nothing")]) == 2


def test_serve_listen_points_the_lab_dns_at_the_lab_and_reports_devices(tmp_path: Path) -> None:
    """--listen on loopback (tests never listen elsewhere), with ports given: no standard port is taken."""
    state = tmp_path / "state"
    process, endpoints = _start_serve(
        state, "--listen", "127.0.0.1", "--submission-port", "0", "--mx-port", "0", "--dns-port", "0"
    )
    try:
        dns_port = int(endpoints["lab DNS"].rsplit(":", 1)[1])
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers, resolver.port = ["127.0.0.1"], dns_port
        for name in (
            "smtp.office365.com",
            "smtp-legacy.office365.com",
            "contoso-com.mail.protection.outlook.com",
        ):
            assert [r.address for r in resolver.resolve(name, "A")] == ["127.0.0.1"], name
        host, port = endpoints["contoso-com.mail.protection.outlook.com:25"].split(":")
        with smtplib.SMTP(host, int(port), local_hostname="mfp.office.local", timeout=10) as client:
            client.sendmail("printer@contoso.com", ["alex@contoso.com"], b"Subject: LAN\r\n\r\nhi\r\n")
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "WARNING" not in err  # loopback: nothing to warn about
    report = subprocess.run(
        _command("report", "--state", str(state)), capture_output=True, text=True, check=True
    )
    assert "== mfp.office.local at 127.0.0.1 (1 session)" in report.stdout
    assert "[works] Direct send (recommended)" in report.stdout
