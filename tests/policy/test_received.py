"""The Received lines, hop headers and MX acceptance line Exchange Online writes, word for word."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from mailflow_lab.auth.oauth import LAB_TENANT_ID
from mailflow_lab.policy import delivery
from mailflow_lab.policy import replies as R

JULY = datetime(2025, 7, 15, 10, 1, 2, 123456, tzinfo=UTC)
MARCH = datetime(2026, 3, 3, 9, 30, 5, tzinfo=UTC)
SUBMISSION_BY = "LO2P265CA0123.gbrp265.prod.outlook.com (2603:10a6:600:a1::15)"
MX_BY = "AM4PEPF00027A6C.eurprd04.prod.outlook.com (2603:10a6:20b:3c1::45)"
# shared/reference/exchange-smtp-protocol.md, "Headers Exchange writes", with the lab's hosts.
SHAPE = re.compile(
    r"Received: from \S+ \(\S+\) by [A-Z0-9]+\.[a-z0-9]+\.prod\.outlook\.com \(2603:10a6:[0-9a-f:]+\) "
    r"with Microsoft SMTP Server \(version=TLS1_[0-3], cipher=TLS_[A-Z0-9_]+\) id 15\.20\.\d+\.\d+ "
    r"via Frontend Transport; [A-Z][a-z]{2}, [1-9]\d? [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000"
)


@pytest.mark.parametrize(
    ("openssl", "exchange"),
    [
        ("TLSv1.3", "TLS1_3"),
        ("TLSv1.2", "TLS1_2"),
        ("TLSv1.1", "TLS1_1"),
        ("TLSv1", "TLS1_0"),
        ("SSLv3", "SSLv3"),  # a name it does not know is kept
    ],
)
def test_tls_version_names(openssl: str, exchange: str) -> None:
    assert delivery.exchange_tls_version(openssl) == exchange


@pytest.mark.parametrize(
    ("openssl", "iana"),
    [
        ("TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384"),  # TLS 1.3: OpenSSL uses the IANA name
        ("TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256"),
        ("ECDHE-RSA-AES256-GCM-SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
        ("ECDHE-ECDSA-AES128-GCM-SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
        ("ECDHE-RSA-AES256-SHA384", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"),
        ("ECDHE-RSA-AES256-SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
        ("ECDHE-ECDSA-CHACHA20-POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
        ("DHE-RSA-AES256-GCM-SHA384", "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"),
        ("AES256-GCM-SHA384", "TLS_RSA_WITH_AES_256_GCM_SHA384"),
        ("AES128-SHA", "TLS_RSA_WITH_AES_128_CBC_SHA"),
        ("CAMELLIA256-SHA", "CAMELLIA256-SHA"),  # a shape it does not know is kept
    ],
)
def test_cipher_names(openssl: str, iana: str) -> None:
    assert delivery.iana_cipher(openssl) == iana


@pytest.mark.parametrize(
    ("helo", "ip", "fqdn", "version", "cipher", "when", "expected"),
    [
        pytest.param(
            "scanner.local", "203.0.113.10", R.SUBMISSION_FQDN, "TLSv1.3", "TLS_AES_256_GCM_SHA384", JULY,
            f"Received: from scanner.local (203.0.113.10) by {SUBMISSION_BY} with Microsoft SMTP Server "
            "(version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384) id 15.20.8901.26 via Frontend Transport; "
            "Tue, 15 Jul 2025 10:01:02 +0000",
            id="submission-tls13",
        ),
        pytest.param(
            "printer", "203.0.113.10", R.MX_FQDN, "TLSv1.2", "ECDHE-ECDSA-AES256-GCM-SHA384", MARCH,
            f"Received: from printer (203.0.113.10) by {MX_BY} with Microsoft SMTP Server "
            "(version=TLS1_2, cipher=TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384) id 15.20.8901.26 via Frontend "
            "Transport; Tue, 3 Mar 2026 09:30:05 +0000",
            id="mx-tls12-openssl-cipher",
        ),
        pytest.param(
            "printer", "203.0.113.10", R.MX_FQDN, "TLSv1.2", None, MARCH,
            f"Received: from printer (203.0.113.10) by {MX_BY} with Microsoft SMTP Server "
            "(version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.8901.26 via Frontend "
            "Transport; Tue, 3 Mar 2026 09:30:05 +0000",
            id="mx-tls12-cipher-unknown",
        ),
        pytest.param(
            "printer", "203.0.113.10", R.MX_FQDN, None, None, MARCH,
            f"Received: from printer (203.0.113.10) by {MX_BY} with Microsoft SMTP Server id 15.20.8901.26 "
            "via Frontend Transport; Tue, 3 Mar 2026 09:30:05 +0000",
            id="mx-in-clear",
        ),
        pytest.param(
            "", "1.2.3.4", R.SUBMISSION_FQDN, "TLSv1", "ECDHE-RSA-AES256-SHA", MARCH,
            f"Received: from unknown (1.2.3.4) by {SUBMISSION_BY} with Microsoft SMTP Server "
            "(version=TLS1_0, cipher=TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA) id 15.20.8901.26 via Frontend "
            "Transport; Tue, 3 Mar 2026 09:30:05 +0000",
            id="legacy-tls10-no-helo",
        ),
        pytest.param(
            "h", "1.2.3.4", "other.example", None, None, MARCH,
            "Received: from h (1.2.3.4) by other.example with Microsoft SMTP Server id 15.20.8901.26 via "
            "Frontend Transport; Tue, 3 Mar 2026 09:30:05 +0000",
            id="an-endpoint-without-a-by-host",
        ),
    ],
)  # fmt: skip
def test_received_header(
    helo: str, ip: str, fqdn: str, version: str | None, cipher: str | None, when: datetime, expected: str
) -> None:
    assert delivery.received_header(helo, ip, fqdn, version, when, cipher) == expected


@pytest.mark.parametrize("fqdn", [R.SUBMISSION_FQDN, R.MX_FQDN])
@pytest.mark.parametrize("version", ["TLSv1.2", "TLSv1.3"])
def test_received_header_has_exchanges_shape(fqdn: str, version: str) -> None:
    line = delivery.received_header("device.local", "203.0.113.10", fqdn, version, JULY)
    assert SHAPE.fullmatch(line), line
    assert "TLSv1" not in line and "=?" not in line


def test_received_header_keeps_a_non_utc_offset() -> None:
    when = datetime(2025, 7, 5, 12, 1, 2, tzinfo=timezone(timedelta(hours=2)))
    assert delivery.received_header("h", "1.2.3.4", R.MX_FQDN, None, when).endswith(
        "; Sat, 5 Jul 2025 12:01:02 +0200"
    )


# -- EOP's outbound hop --------------------------------------------------------------------------------
EOP_RECEIVED = (
    "from DB5PR07MB9516.eurprd07.prod.outlook.com (2603:10a6:10:2c7::13) by "
    "EUR05-AM6-obe.outbound.protection.outlook.com (2a01:111:f400:7e1b::245) with Microsoft SMTP Server "
    "(version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384) id 15.20.8901.26; Tue, 15 Jul 2025 10:01:02 +0000"
)


@pytest.mark.parametrize(
    ("from_entity", "stamped", "auth_as", "entity_header"),
    [
        pytest.param("Hosted", False, "Internal", "Hosted", id="cloud-mailbox"),
        pytest.param("HybridOnPrem", False, "Anonymous", "HybridOnPrem", id="connector-unstamped"),
        pytest.param("HybridOnPrem", True, "Anonymous", None, id="connector-stamped-at-the-mx"),
    ],
)
def test_outbound_hop_headers(
    from_entity: str, stamped: bool, auth_as: str, entity_header: str | None
) -> None:
    headers = delivery.outbound_hop_headers(
        JULY, "0b1c2d3e-0000-4000-8000-00000000abcd", from_entity=from_entity, entity_stamped=stamped
    )
    names = [name for name, _ in headers]
    assert names[0] == "Received"  # the top line: what EOP's outbound host wrote last
    values = dict(headers)
    assert values["Received"] == EOP_RECEIVED
    assert values["X-MS-Exchange-CrossTenant-Network-Message-Id"] == "0b1c2d3e-0000-4000-8000-00000000abcd"
    assert values["X-MS-Exchange-CrossTenant-AuthSource"] == "DB5PR07MB9516.eurprd07.prod.outlook.com"
    assert values["X-MS-Exchange-CrossTenant-AuthAs"] == auth_as
    assert values["X-MS-Exchange-CrossTenant-OriginalArrivalTime"] == "15 Jul 2025 10:01:02.1234 (UTC)"
    assert values.get("X-MS-Exchange-CrossTenant-FromEntityHeader") == entity_header
    assert values["X-MS-Exchange-CrossTenant-Id"] == LAB_TENANT_ID
    assert values["X-MS-Exchange-Transport-CrossTenantHeadersStamped"] == (
        "DB5PR07MB9516.eurprd07.prod.outlook.com"
    )
    assert len(names) == len(set(names))
    assert all(name.startswith(("Received", "X-MS-Exchange-")) for name in names)


def test_outbound_hop_names_a_given_tenant() -> None:
    tenant = "11111111-2222-3333-4444-555555555555"
    headers = dict(delivery.outbound_hop_headers(JULY, "id", tenant_id=tenant))
    assert headers["X-MS-Exchange-CrossTenant-Id"] == tenant


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (JULY, "15 Jul 2025 10:01:02.1234 (UTC)"),
        (datetime(2026, 3, 3, 9, 30, 5, tzinfo=UTC), "03 Mar 2026 09:30:05.0000 (UTC)"),
        (
            datetime(2026, 3, 3, 1, 0, 0, 999999, tzinfo=timezone(timedelta(hours=2))),
            "02 Mar 2026 23:00:00.9999 (UTC)",
        ),
        (datetime(2026, 3, 3, 9, 30, 5), "03 Mar 2026 09:30:05.0000 (UTC)"),  # naive: taken as UTC
    ],
)  # fmt: skip
def test_original_arrival_time(when: datetime, expected: str) -> None:
    assert delivery.original_arrival_time(when) == expected


# -- the receiving Postfix -----------------------------------------------------------------------------
EOP_HELO = "EUR05-AM6-obe.outbound.protection.outlook.com"
EOP_NAME = "mail-am6eur05on2045.outbound.protection.outlook.com"


@pytest.mark.parametrize(
    ("helo", "name", "rcpts", "tls", "when", "expected"),
    [
        pytest.param(
            EOP_HELO, EOP_NAME, ["pat@fabrikam.com"], False, MARCH,
            f"Received: from {EOP_HELO} ({EOP_NAME} [40.107.22.45])\r\n"
            "\tby mail.fabrikam.com (Postfix) with ESMTP id 1F2E3D4C5B\r\n"
            "\tfor <pat@fabrikam.com>; Tue,  3 Mar 2026 09:30:05 +0000 (UTC)",
            id="one-recipient-in-clear",
        ),
        pytest.param(
            EOP_HELO, "unknown", ["pat@fabrikam.com", "kim@fabrikam.com"], True, JULY,
            f"Received: from {EOP_HELO} (unknown [40.107.22.45])\r\n"
            "\tby mail.fabrikam.com (Postfix) with ESMTPS id 1F2E3D4C5B; "
            "Tue, 15 Jul 2025 10:01:02 +0000 (UTC)",
            id="two-recipients-tls-no-reverse-name",
        ),
        pytest.param(
            "", "unknown", ["pat@fabrikam.com"], True, MARCH,
            "Received: from unknown (unknown [40.107.22.45])\r\n"
            "\tby mail.fabrikam.com (Postfix) with ESMTPS id 1F2E3D4C5B\r\n"
            "\tfor <pat@fabrikam.com>; Tue,  3 Mar 2026 09:30:05 +0000 (UTC)",
            id="no-helo",
        ),
    ],
)  # fmt: skip
def test_postfix_received(
    helo: str, name: str, rcpts: list[str], tls: bool, when: datetime, expected: str
) -> None:
    line = delivery.postfix_received(
        helo, name, "40.107.22.45", "mail.fabrikam.com", "1F2E3D4C5B", rcpts, tls, when
    )
    assert line == expected


# -- the MX acceptance line (policy/replies.mx_queued) ---------------------------------------------------
@pytest.mark.parametrize(
    ("size", "seconds", "tail"),
    [
        # The reference's sample: 11251 bytes in 0.064 s (unrounded 0.0640411) is 171.566 KB/sec.
        (11251, 0.0640411, "11251 bytes in 0.064, 171.566 KB/sec Queued mail for delivery"),
        (305, 0.0052, "305 bytes in 0.005, 57.279 KB/sec Queued mail for delivery"),
        (2048, 2.0, "2048 bytes in 2.000, 1.000 KB/sec Queued mail for delivery"),
        (500, 0.0, "500 bytes in 0.001, 488.281 KB/sec Queued mail for delivery"),  # under 1 ms: 0.001
    ],
)
def test_mx_queued(size: int, seconds: float, tail: str) -> None:
    reply = R.mx_queued("<a1@contoso.com>", 901943135827, size, seconds)
    assert (reply.code, reply.enhanced) == (250, "2.6.0")
    assert reply.text == f"<a1@contoso.com> [InternalId=901943135827, Hostname={R.MX_DIAG}] {tail}"
