"""The mailflow-lab command: serve a lab as a real process, send to it, read its trace, check worlds."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import dns.resolver
import pytest

from mailflow_lab.cli import main
from mailflow_lab.lab.listening import listen_address
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


@pytest.fixture(scope="module")
def used_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state folder a lab has run in, with one device's session (copied by each test that damages it)."""
    from mailflow_lab import Lab

    state = tmp_path_factory.mktemp("used") / "state"
    with Lab.start(state_dir=state) as lab:
        lab.device("Lobby scanner").send(lab, to="alex@contoso.com", subject="Scan")
    return state


def test_report_skips_damaged_session_lines_and_says_how_many(
    used_state: Path, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    state = shutil.copytree(used_state, tmp_path / "state")
    record = {
        "endpoint": "smtp.office365.com",
        "port": 587,
        "peer_ip": "127.0.0.1",
        "client_ip": "203.0.113.10",
    }
    sender = {"mail_from": "printer@contoso.com"}
    damaged = [
        b"\xff\xfe garbage \xc3\x28",  # was: UnicodeDecodeError
        b'{"endpoint":"smtp.office365.com","port":587,"ehlo":["a"]}',  # was: TypeError
        json.dumps(
            {**record, "client_ip": "notanip", "ehlo": "x", "transactions": [sender]}
        ).encode(),  # PermError
        json.dumps(
            {**record, "ehlo": "x", "transactions": [{"mail_from": 5}]}
        ).encode(),  # was: AttributeError
        json.dumps(
            {"endpoint": "smtp.office365.com", "port": 587, "peer_ip": "127.0.0.1", "ehlo": "y"}
        ).encode(),
    ]
    with open(state / "sessions.jsonl", "ab") as log:
        log.write(b"\n".join(damaged) + b"\n")
    assert main(["report", "--state", str(state)]) == 0
    text = capsys.readouterr().out
    assert "== lobby-scanner.local at 203.0.113.10 (1 session)" in text  # the good line is still read
    assert "Skipped 5 lines of sessions.jsonl that could not be read (damaged)" in text
    assert not re.search(r"-SenderIPAddresses\s*$", text, re.M)  # was: a cmdlet with no address after it
    assert main(["report", "--state", str(state), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["skipped_lines"] == 5 and len(report["devices"]) == 1


@pytest.mark.parametrize(
    ("file", "content"),
    [
        ("lab.json", b"x"),
        ("lab.json", b'{"world": 5}'),
        ("lab.json", b"[]"),
        ("lab.json", b"{}"),
        ("lab.json", b"\xff\xfe\xfd"),
        ("tenant.json", b'{"mailboxes": 5}'),
        ("tenant.json", b"{"),
        ("trace.jsonl", b'{"x": 1}\n'),
    ],
)
@pytest.mark.parametrize("command", [["report"], ["ps", "Get-TransportConfig"], ["trace"]])
def test_a_damaged_state_file_is_named_not_a_traceback(  # type: ignore[no-untyped-def]
    used_state: Path, tmp_path: Path, capsys, file: str, content: bytes, command: list[str]
) -> None:
    state = shutil.copytree(used_state, tmp_path / "state")
    (state / file).write_bytes(content)
    code = main([command[0], "--state", str(state), *command[1:]])
    err = capsys.readouterr().err
    if command == ["trace"] and file != "trace.jsonl":
        assert code == 0  # the trace command reads the trace only
        return
    assert code == 2 and "Traceback" not in err
    assert err.startswith(f"mailflow-lab: {state / file}: "), err  # the file that is broken, by name
    assert ("not a trace entry" if file == "trace.jsonl" else "is damaged") in err, err


@pytest.mark.parametrize("listen", ["127.0.0.300", "printer..local", "", "::1::", "127.1"])
def test_serve_refuses_a_listen_address_that_is_none_before_anything_starts(capsys, listen: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as stopped:
        main(["serve", "--listen", listen])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "argument --listen: expected an IP address or host name of this machine" in err
    assert "WARNING" not in err  # the exposure warning comes only after the address is known to be good


def test_serve_listen_takes_a_host_name_and_uses_its_address(tmp_path: Path) -> None:
    """--listen localhost: resolved once, and that address is bound and given out by the lab DNS."""
    address = listen_address("localhost")
    assert ipaddress.ip_address(address).is_loopback  # tests listen on loopback only
    ports = ("--submission-port", "0", "--mx-port", "0", "--dns-port", "0")
    process = subprocess.Popen(
        _command("serve", "--state", str(tmp_path / "state"), "--listen", "localhost", *ports),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    shown = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            shown.append(line)
            if line.startswith("ready"):
                break
    finally:
        process.send_signal(signal.SIGTERM)
        rest, err = process.communicate(timeout=30)
    out = "".join(shown) + rest
    # was: ValueError 'localhost' does not appear to be an IPv4 or IPv6 address, once the servers ran
    assert process.returncode == 0 and "Traceback" not in err, err
    assert re.search(rf"^smtp\.office365\.com:587 -> {re.escape(address)}:\d+$", out, re.M), out
    assert "lab DNS answers smtp.office365.com, smtp-legacy.office365.com, " in out
    assert re.search(rf"outlook\.com with {re.escape(address)}$", out, re.M), out


def test_serve_mx_port_maps_the_default_domains_mx_when_it_is_not_listed_first(tmp_path: Path) -> None:
    """--mx-port binds the MX of the default accepted domain (the one the lab serves), not the first."""
    text = (data_dir() / "worlds" / "contoso.toml").read_text().replace('"../', f'"{data_dir().as_posix()}/')
    first, second = (
        '[[tenant.accepted_domains]]\nname = "contoso.com"\ntype = "Authoritative"\ndefault = true\n',
        '[[tenant.accepted_domains]]\nname = "contoso.onmicrosoft.com"\ntype = "Authoritative"\n',
    )
    assert first in text and second in text
    world = tmp_path / "onmicrosoft-first.toml"
    world.write_text(text.replace(first, "@@").replace(second, first).replace("@@", second))
    with socket.socket() as probe:  # a port free now, for the lab to take
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process, endpoints = _start_serve(tmp_path / "state", "--world", str(world), "--mx-port", str(port))
    try:
        assert endpoints["contoso-com.mail.protection.outlook.com:25"] == f"127.0.0.1:{port}", endpoints
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
