"""The headers the lab writes, read back from the stored files: plain text, Exchange's Received lines, the
MX's acceptance line, and the hops a message relayed out to Fabrikam passes."""

from __future__ import annotations

import ipaddress
import re
import smtplib
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP, default
from pathlib import Path
from typing import cast

import pytest

from mailflow_lab import Device, Lab
from mailflow_lab.delivery.headers import fold
from mailflow_lab.labdns.zones import zone_from_file
from mailflow_lab.policy import replies as R
from mailflow_lab.world.loader import data_dir
from mailflow_lab.world.model import InboundConnector

MX = "contoso-com.mail.protection.outlook.com"
SCANNER = {"username": "scanner@contoso.com", "password": "Scan#2026", "sender": "scanner@contoso.com"}
EOP_OUTBOUND_RANGES = [ipaddress.ip_network("40.107.0.0/16"), ipaddress.ip_network("52.100.0.0/15")]
EOP_HELO = "EUR05-AM6-obe.outbound.protection.outlook.com"
EOP_NAME = "mail-am6eur05on2045.outbound.protection.outlook.com"
EOP_REVERSE = "45.22.107.40.in-addr.arpa"
# What the MX stamps on a direct send, every one in plain text.
MX_HEADERS = (
    "Received",
    "Authentication-Results",
    "Received-SPF",
    "X-MS-Exchange-Organization-AuthAs",
    "X-Forefront-Antispam-Report",
    "X-MS-Exchange-Organization-SCL",
)
RECEIVED = re.compile(
    r"from (?P<helo>\S+) \((?P<ip>[0-9.]+)\) by (?P<by>[A-Z0-9]+\.[a-z0-9]+\.prod\.outlook\.com) "
    r"\(2603:10a6:[0-9a-f:]+\) with Microsoft SMTP Server(?: \(version=(?P<version>TLS1_\d), "
    r"cipher=(?P<cipher>TLS_[A-Z0-9_]+)\))? id 15\.20\.\d+\.\d+ via Frontend Transport; "
    r"[A-Z][a-z]{2}, [1-9]\d? [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000"
)
ACCEPTED = re.compile(
    r"<[^>]+> \[InternalId=\d{12}, Hostname=AM4PEPF00027A6C\.eurprd04\.prod\.outlook\.com\] "
    r"(?P<size>\d+) bytes in (?P<seconds>\d+\.\d{3}), (?P<rate>\d+\.\d{3}) KB/sec Queued mail for delivery"
)


def device(**overrides: object) -> Device:
    settings: dict[str, object] = {
        "name": "Warehouse printer",
        "server": MX,
        "port": 25,
        "tls": "none",
        "sender": "printer@contoso.com",
        "helo": "printer.contoso.local",
    }
    settings.update(overrides)
    return Device(**settings)  # type: ignore[arg-type]


def scanner(**overrides: object) -> Device:
    return device(
        name="Lobby scanner", server="smtp.office365.com", port=587, tls="starttls", **SCANNER, **overrides
    )


def stored(lab: Lab, address: str, folder: str) -> list[bytes]:
    """The message files of one folder, as the store wrote them (oldest first)."""
    root = Path(lab.runtime.store.root) / "mailboxes" / address / folder
    files = sorted([*root.glob("new/*"), *root.glob("cur/*")], key=lambda p: p.stat().st_mtime_ns)
    return [path.read_bytes() for path in files]


def head_of(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0]


def raw_fields(raw: bytes) -> list[tuple[str, bytes]]:
    """(name, the field's bytes with its folds) of each header field, top first."""
    fields: list[tuple[str, bytes]] = []
    for line in head_of(raw).split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            name, value = fields[-1]
            fields[-1] = (name, value + b"\r\n" + line)
        else:
            fields.append((line.split(b":", 1)[0].decode(), line))
    return fields


def raw_field(raw: bytes, name: str) -> bytes:
    (value,) = [v for n, v in raw_fields(raw) if n.lower() == name.lower()][:1]
    return value


def parsed(raw: bytes) -> EmailMessage:
    return cast(EmailMessage, message_from_bytes(raw, policy=default))


def forefront_fields(value: str) -> list[str]:
    """The report's fields: a fold after a `;` leaves a space there once unfolded."""
    return [field.strip() for field in value.split(";")]


def with_eop_reverse_zone(lab: Lab) -> None:
    """The reverse zone of EOP's outbound range, loaded when the world file does not list it yet."""
    if lab.dns.zone_for(EOP_REVERSE) is None:
        lab.dns.add_zone(zone_from_file(data_dir() / "zones" / "107.40.in-addr.arpa.zone"))


# -- plain text, never RFC 2047 --------------------------------------------------------------------------
def test_direct_send_antispam_report_is_plain_text(lab: Lab) -> None:
    result = device().send(lab, to="alex@contoso.com", subject="Toner low")
    assert result.outcome["alex@contoso.com"].where == "Junk Email"
    (raw,) = stored(lab, "alex@contoso.com", "Junk Email")
    report = raw_field(raw, "X-Forefront-Antispam-Report")
    assert report == (
        b"X-Forefront-Antispam-Report: CIP:203.0.113.10;CTRY:;LANG:en;SCL:5;SRV:;\r\n"
        b" IPV:NLI;SFV:SPM;H:printer.contoso.local;PTR:;CAT:SPOOF;SFTY:9.11;DIR:INB;"
    )
    assert forefront_fields(str(parsed(raw)["X-Forefront-Antispam-Report"])) == [
        *"CIP:203.0.113.10 CTRY: LANG:en SCL:5 SRV: IPV:NLI SFV:SPM H:printer.contoso.local PTR:".split(),
        *"CAT:SPOOF SFTY:9.11 DIR:INB".split(),
        "",
    ]


@pytest.mark.parametrize("name", MX_HEADERS)
def test_every_header_the_mx_writes_is_plain_text_and_folded(lab: Lab, name: str) -> None:
    device().send(lab, to="alex@contoso.com", subject="Toner low")
    (raw,) = stored(lab, "alex@contoso.com", "Junk Email")
    field = raw_field(raw, name)
    assert b"=?" not in field
    assert field.isascii()
    assert all(len(line) <= 78 for line in field.split(b"\r\n")), field


def test_a_stored_message_written_out_again_by_python_stays_plain(lab: Lab) -> None:
    """Python's email package refolds a line over 78 characters and can only break a long run without
    spaces into encoded words: the lab's folded headers come out of it byte for byte."""
    device().send(lab, to="alex@contoso.com", subject="Toner low")
    (raw,) = stored(lab, "alex@contoso.com", "Junk Email")
    again = parsed(raw).as_bytes(policy=SMTP)
    assert b"=?" not in head_of(again)
    for name in MX_HEADERS:
        assert raw_field(again, name) == raw_field(raw, name)


def test_connector_mail_is_stamped_in_plain_text(lab: Lab) -> None:
    lab.world.tenant.inbound_connectors.append(
        InboundConnector(
            name="Office printers",
            connector_type="OnPremises",
            sender_ip_addresses=[ipaddress.ip_network("203.0.113.10/32")],
        )
    )
    device().send(lab, to="alex@contoso.com", subject="Via the connector")
    (raw,) = stored(lab, "alex@contoso.com", "Inbox")
    assert b"=?" not in head_of(raw)
    report = str(parsed(raw)["X-Forefront-Antispam-Report"])
    assert "SCL:1" in forefront_fields(report) and "DIR:INT" in forefront_fields(report)
    assert b"=?" not in head_of(parsed(raw).as_bytes(policy=SMTP))


@pytest.mark.parametrize(
    ("line", "expected", "unfolded"),
    [
        pytest.param("Subject: short", "Subject: short", None, id="short-unchanged"),
        pytest.param(
            "X-Test: " + "a" * 40 + " " + "b" * 40,
            "X-Test: " + "a" * 40 + "\r\n " + "b" * 40,
            None,
            id="before-a-space",
        ),
        pytest.param(
            "X-Test: " + "k:v;" * 30,
            "X-Test: " + "k:v;" * 17 + "\r\n " + "k:v;" * 13,
            "X-Test: " + "k:v;" * 17 + " " + "k:v;" * 13,  # RFC 5322 §2.2.3: the fold's space stays
            id="after-a-semicolon",
        ),
        pytest.param("X-Test: " + "x" * 90, "X-Test:\r\n " + "x" * 90, None, id="one-long-word-kept-whole"),
        pytest.param("X-Test: a\r\n b" + "c" * 90, "X-Test: a\r\n b" + "c" * 90, None, id="already-folded"),
    ],
)
def test_fold(line: str, expected: str, unfolded: str | None) -> None:
    """Folded before a space when it can be, so unfolding (removing each CRLF) gives the line back."""
    assert fold(line) == expected
    assert fold(line).replace("\r\n", "") == (unfolded or line.replace("\r\n", ""))


# -- Exchange's Received line ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "version"),
    [
        pytest.param({"tls": "starttls"}, "TLS1_3", id="mx-tls13"),
        pytest.param({"tls": "starttls", "tls_max_version": "TLSv1.2"}, "TLS1_2", id="mx-tls12"),
        pytest.param({}, None, id="mx-in-clear"),
    ],
)
def test_mx_received_line(lab: Lab, overrides: dict[str, object], version: str | None) -> None:
    device(**overrides).send(lab, to="alex@contoso.com", subject="Toner low")
    (raw,) = stored(lab, "alex@contoso.com", "Junk Email")
    assert raw.startswith(b"Received: from printer.contoso.local (203.0.113.10) by\r\n ")  # folded
    (received,) = parsed(raw).get_all("Received")
    match = RECEIVED.fullmatch(str(received))
    assert match, received
    assert match["by"] == R.MX_DIAG and match["version"] == version
    assert b"TLSv1" not in raw_field(raw, "Received")
    if version == "TLS1_3":
        assert match["cipher"] == "TLS_AES_256_GCM_SHA384"
    elif version == "TLS1_2":
        assert match["cipher"].startswith("TLS_ECDHE_") and match["cipher"].endswith(
            "_WITH_AES_256_GCM_SHA384"
        )


@pytest.mark.parametrize("tls_max_version", [None, "TLSv1.2"])
def test_submission_received_line(lab: Lab, tls_max_version: str | None) -> None:
    scanner(tls_max_version=tls_max_version).send(lab, to="alex@contoso.com", subject="Scan")
    (raw,) = stored(lab, "alex@contoso.com", "Inbox")
    match = RECEIVED.fullmatch(str(parsed(raw)["Received"]))
    assert match, parsed(raw)["Received"]
    assert match["by"] == "LO2P265CA0123.gbrp265.prod.outlook.com"
    assert match["version"] == ("TLS1_2" if tls_max_version else "TLS1_3")


# -- the MX acceptance line --------------------------------------------------------------------------
def test_mx_acceptance_names_the_size_time_and_rate(lab: Lab) -> None:
    content = (
        b"From: printer@contoso.com\r\nTo: alex@contoso.com\r\nSubject: Sized\r\n"
        b"Message-ID: <sized@contoso.com>\r\n\r\n" + b"0123456789" * 100 + b"\r\n"
    )
    host, port = lab.endpoint(MX, 25)
    with smtplib.SMTP(host, port, local_hostname="printer.contoso.local", timeout=10) as client:
        client.ehlo()
        client.mail("printer@contoso.com")
        client.rcpt("alex@contoso.com")
        code, text = client.data(content)
    assert code == 250
    enhanced, _, rest = text.decode().partition(" ")
    assert enhanced == "2.6.0"
    match = ACCEPTED.fullmatch(rest)
    assert match, rest
    assert rest.startswith("<sized@contoso.com> ")
    assert int(match["size"]) == len(content)  # the bytes of the message as it came, before any stamp
    seconds, rate = float(match["seconds"]), float(match["rate"])
    assert 0.001 <= seconds < 10
    # The rate is from the unrounded time, which the shown time rounds to three decimals.
    assert abs(len(content) / 1024 / rate - seconds) <= 0.0005 + 1e-6


# -- relayed out: EOP's outbound hop, then Fabrikam's Postfix -----------------------------------------
def test_submission_to_fabrikam_arrives_with_the_whole_received_chain(lab: Lab) -> None:
    with_eop_reverse_zone(lab)
    result = scanner().send(lab, to="pat@fabrikam.com", subject="Quote")
    assert result.accepted and result.outcome["pat@fabrikam.com"].where == "Inbox"
    (raw,) = stored(lab, "pat@fabrikam.com", "Inbox")
    message = parsed(raw)
    postfix, eop, submission = (" ".join(str(r).split()) for r in message.get_all("Received"))
    found = re.fullmatch(
        rf"from {EOP_HELO} \({EOP_NAME} \[(?P<ip>[0-9.]+)\]\) by mail\.fabrikam\.com \(Postfix\) with ESMTP "
        r"id [0-9A-F]{10} for <pat@fabrikam\.com>; [A-Z][a-z]{2}, [1-9]\d? [A-Z][a-z]{2} \d{4} "
        r"\d\d:\d\d:\d\d \+0000 \(UTC\)",
        postfix,
    )
    assert found, postfix
    assert any(ipaddress.ip_address(found["ip"]) in net for net in EOP_OUTBOUND_RANGES)
    # Postfix's date pads the day with a space, and its line is folded with tabs where Postfix folds it.
    assert re.search(
        rb"\r\n\tby mail\.fabrikam\.com .*\r\n\tfor <pat@fabrikam\.com>; [A-Z][a-z]{2}, [ 1-9]\d ", raw
    )
    assert re.fullmatch(
        r"from DB5PR07MB9516\.eurprd07\.prod\.outlook\.com \(2603:10a6:[0-9a-f:]+\) by "
        rf"{EOP_HELO} \(2a01:111:f400:[0-9a-f:]+\) with Microsoft SMTP Server \(version=TLS1_3, "
        r"cipher=TLS_AES_256_GCM_SHA384\) id 15\.20\.\d+\.\d+; .+ \+0000",
        eop,
    ), eop
    assert (match := RECEIVED.fullmatch(submission)), submission
    assert match["by"] == "LO2P265CA0123.gbrp265.prod.outlook.com"
    # Fabrikam's own verdicts: the EOP hop's headers did not break the signature.
    assert str(message["Authentication-Results"]) == (
        "mail.fabrikam.com; spf=pass smtp.mailfrom=contoso.com; dkim=pass header.d=contoso.com; "
        "dmarc=pass header.from=contoso.com"
    )
    assert message["X-MS-Exchange-CrossTenant-FromEntityHeader"] == "Hosted"
    assert message["X-MS-Exchange-CrossTenant-AuthAs"] == "Internal"
    assert re.fullmatch(r"[0-9a-f-]{36}", str(message["X-MS-Exchange-CrossTenant-Id"]))
    assert re.fullmatch(
        r"\d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d\.\d{4} \(UTC\)",
        str(message["X-MS-Exchange-CrossTenant-OriginalArrivalTime"]),
    )
    assert not [n for n in message if n.startswith("X-MS-Exchange-Organization-")]  # removed on the way out
    assert b"=?" not in head_of(raw)


def test_postfix_names_an_unconfirmed_client_unknown(lab: Lab) -> None:
    with_eop_reverse_zone(lab)
    lab.dns.remove_records(EOP_REVERSE, "PTR")
    scanner().send(lab, to="pat@fabrikam.com", subject="Quote")
    (raw,) = stored(lab, "pat@fabrikam.com", "Inbox")
    postfix = str(parsed(raw)["Received"])
    assert postfix.startswith(f"from {EOP_HELO} (unknown [40.107.22.45])"), postfix


def test_connector_relay_to_fabrikam_keeps_one_from_entity_header(lab: Lab) -> None:
    lab.world.tenant.inbound_connectors.append(
        InboundConnector(
            name="Office printers",
            connector_type="OnPremises",
            sender_ip_addresses=[ipaddress.ip_network("203.0.113.10/32")],
        )
    )
    result = device().send(lab, to="pat@fabrikam.com", subject="Invoice")
    assert result.outcome["pat@fabrikam.com"].where == "Inbox"
    (raw,) = stored(lab, "pat@fabrikam.com", "Inbox")
    message = parsed(raw)
    assert message.get_all("X-MS-Exchange-CrossTenant-FromEntityHeader") == ["HybridOnPrem"]
    assert message["X-MS-Exchange-CrossTenant-AuthAs"] == "Anonymous"
    assert len(message.get_all("Received")) == 3  # Fabrikam's, EOP's outbound host's, the MX's
    assert "dkim=pass" in str(message["Authentication-Results"])
    assert "dmarc=pass" in str(message["Authentication-Results"])
