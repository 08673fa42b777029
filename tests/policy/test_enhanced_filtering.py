"""Enhanced Filtering for Connectors, the filter's own rules, and outbound routing: table-driven."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from mailflow_lab.policy import enhanced_filtering as EF
from mailflow_lab.policy import mailfilter, outbound
from mailflow_lab.policy import replies as R
from mailflow_lab.world.model import InboundConnector, MailFilter, OutboundConnector, World

FILTER_IP = "198.51.100.80"
FABRIKAM_IP = "192.0.2.25"
FROM_FABRIKAM = f"from mail.fabrikam.com ([{FABRIKAM_IP}]) by filter.litware.com with ESMTP; Fri, 27 Nov 2026"
FROM_RELAY = "from relay.litware.com (relay.litware.com [198.51.100.81]) by filter.litware.com; Fri"


def nets(*addresses: str) -> list[Any]:
    return [ipaddress.ip_network(a) for a in addresses]


def litware(**fields: Any) -> InboundConnector:
    return InboundConnector("Litware filter", "Partner", nets(FILTER_IP), **fields)


RECEIVED = [
    pytest.param([FROM_FABRIKAM], [FABRIKAM_IP], id="bracketed"),
    pytest.param(["from printer.local (203.0.113.10) by x; Fri"], ["203.0.113.10"], id="bare-in-parentheses"),
    pytest.param(
        [FROM_RELAY, FROM_FABRIKAM], ["198.51.100.81", FABRIKAM_IP], id="name-and-address, newest first"
    ),
    pytest.param(["from x (IPv6:2001:db8::25) by y"], ["2001:db8::25"], id="ipv6"),
    pytest.param(["from x\r\n\t([192.0.2.7]) by y"], ["192.0.2.7"], id="folded"),
    pytest.param(["by filter.litware.com; Fri", "from x (unknown) by y"], [], id="no-address"),
    # The client's EHLO name comes before the receiving host's comment: `EHLO x ([192.0.2.25])` copied
    # verbatim must not make 192.0.2.25 the source; the last comment is the one the receiver wrote.
    pytest.param(
        [f"from x ([{FABRIKAM_IP}]) ([198.51.100.99]) by filter.litware.com with ESMTP; Fri"],
        ["198.51.100.99"],
        id="ehlo-posing-as-tcp-info",
    ),
    pytest.param(
        [f"from x([{FABRIKAM_IP}]) (unknown [198.51.100.99]) by filter.litware.com; Fri"],
        ["198.51.100.99"],
        id="ehlo-glued-comment",
    ),
    pytest.param(
        ["from host (rdns.example [192.0.2.1] (may be forged)) by y"], ["192.0.2.1"], id="nested-comment"
    ),
    pytest.param([f"from mx ([192.0.2.3] helo=[{FABRIKAM_IP}]) by y"], ["192.0.2.3"], id="helo-note-skipped"),
    pytest.param(["from [192.0.2.9] by y; Fri"], ["192.0.2.9"], id="address-literal-no-comment"),
    pytest.param(["from mail.fabrikam.com by y; Fri"], [], id="name-no-comment"),
    pytest.param([], [], id="none"),
]


@pytest.mark.parametrize(("headers", "expected"), RECEIVED)
def test_received_sources(headers: list[str], expected: list[str]) -> None:
    assert EF.received_sources(headers) == expected


# (connector fields or None for no connector, connecting IP, Received headers, recipients) ->
# (address judged, rule, skipped)
SOURCES = [
    pytest.param(
        None, FILTER_IP, [FROM_FABRIKAM], ["alex@contoso.com"], (FILTER_IP, "ef.off", ()), id="no-connector"
    ),
    pytest.param(
        {}, FILTER_IP, [FROM_FABRIKAM], ["alex@contoso.com"], (FILTER_IP, "ef.off", ()), id="ef-off"
    ),
    pytest.param(
        {"ef_skip_ips": nets(FILTER_IP)},
        FILTER_IP,
        [FROM_FABRIKAM],
        ["alex@contoso.com"],
        (FABRIKAM_IP, "ef.skip-ips", (FILTER_IP,)),
        id="skip-ips-filter",
    ),
    pytest.param(
        {"ef_skip_ips": nets("198.51.100.0/24")},
        FILTER_IP,
        [FROM_RELAY, FROM_FABRIKAM],
        ["alex@contoso.com"],
        (FABRIKAM_IP, "ef.skip-ips", (FILTER_IP, "198.51.100.81")),
        id="skip-ips-two-filter-hops",
    ),
    pytest.param(
        {"ef_skip_ips": nets(FILTER_IP)},
        FILTER_IP,
        [FROM_RELAY, FROM_FABRIKAM],
        ["alex@contoso.com"],
        ("198.51.100.81", "ef.skip-ips", (FILTER_IP,)),
        id="skip-ips-stops-at-first-unlisted",
    ),
    pytest.param(
        {"ef_skip_ips": nets("198.51.100.0/24", "192.0.2.0/24")},
        FILTER_IP,
        [FROM_RELAY, FROM_FABRIKAM],
        ["alex@contoso.com"],
        (FABRIKAM_IP, "ef.skip-ips", (FILTER_IP, "198.51.100.81")),
        id="skip-ips-every-hop-listed-oldest",
    ),
    pytest.param(
        {"ef_skip_ips": nets("203.0.113.0/24")},
        FILTER_IP,
        [FROM_FABRIKAM],
        ["alex@contoso.com"],
        (FILTER_IP, "ef.not-skipped", ()),
        id="skip-ips-other-address",
    ),
    pytest.param(
        {"ef_skip_ips": nets(FILTER_IP)},
        FILTER_IP,
        [],
        ["alex@contoso.com"],
        (FILTER_IP, "ef.no-received", ()),
        id="skip-ips-no-received",
    ),
    pytest.param(
        {"ef_skip_last_ip": True},
        FILTER_IP,
        [FROM_RELAY, FROM_FABRIKAM],
        ["alex@contoso.com"],
        ("198.51.100.81", "ef.skip-last-ip", (FILTER_IP,)),
        id="skip-last-ip-only-one-hop",
    ),
    pytest.param(
        {"ef_skip_last_ip": True, "ef_skip_ips": nets("198.51.100.0/24")},
        FILTER_IP,
        [FROM_RELAY, FROM_FABRIKAM],
        ["alex@contoso.com"],
        ("198.51.100.81", "ef.skip-last-ip", (FILTER_IP,)),
        id="skip-last-ip-wins-over-skip-ips",
    ),
    pytest.param(
        {"ef_skip_last_ip": True},
        FILTER_IP,
        [],
        ["alex@contoso.com"],
        (FILTER_IP, "ef.no-received", ()),
        id="skip-last-ip-no-received",
    ),
    pytest.param(
        {"ef_skip_last_ip": True, "ef_users": ["alex@contoso.com"]},
        FILTER_IP,
        [FROM_FABRIKAM],
        ["Alex@Contoso.com"],
        (FABRIKAM_IP, "ef.skip-last-ip", (FILTER_IP,)),
        id="ef-users-listed",
    ),
    pytest.param(
        {"ef_skip_last_ip": True, "ef_users": ["alex@contoso.com"]},
        FILTER_IP,
        [FROM_FABRIKAM],
        ["alex@contoso.com", "scanner@contoso.com"],
        (FILTER_IP, "ef.not-for-recipients", ()),
        id="ef-users-not-all-listed",
    ),
    pytest.param(
        {"ef_skip_last_ip": True, "enabled": False},
        FILTER_IP,
        [FROM_FABRIKAM],
        ["alex@contoso.com"],
        (FILTER_IP, "ef.off", ()),
        id="connector-disabled",
    ),
    pytest.param(
        {"ef_skip_last_ip": True},
        FABRIKAM_IP,
        ["from laptop (203.0.113.99) by mail.fabrikam.com"],
        ["alex@contoso.com"],
        (FABRIKAM_IP, "ef.off", ()),
        id="direct-from-sender-no-connector-matches",
    ),
]


@pytest.mark.parametrize(("fields", "client_ip", "received", "recipients", "expected"), SOURCES)
def test_original_source(
    world: World,
    fields: dict[str, Any] | None,
    client_ip: str,
    received: list[str],
    recipients: list[str],
    expected: tuple[str, str, tuple[str, ...]],
) -> None:
    if fields is not None:
        world.tenant.inbound_connectors.append(litware(**fields))
    source = EF.original_source(world.tenant, client_ip, (), received, recipients)
    assert (source.ip, source.rule, source.skipped) == expected
    assert source.connecting_ip == client_ip
    assert source.changed == (source.ip != client_ip)
    assert source.explanation


def test_a_filter_known_by_its_certificate_gets_enhanced_filtering(world: World) -> None:
    connector = InboundConnector(
        "Litware by certificate", "Partner", tls_sender_certificate_name="*.litware.com", ef_skip_last_ip=True
    )
    world.tenant.inbound_connectors.append(connector)
    source = EF.original_source(world.tenant, "198.51.100.99", ("filter.litware.com",), [FROM_FABRIKAM], [])
    assert (source.ip, source.connector) == (FABRIKAM_IP, "Litware by certificate")
    without_cert = EF.original_source(world.tenant, "198.51.100.99", (), [FROM_FABRIKAM], [])
    assert without_cert.ip == "198.51.100.99"


# -- the filter's own server ------------------------------------------------------------------------
LITWARE = MailFilter("Litware filter", "filter.litware.com", ipaddress.ip_address(FILTER_IP))
FILTER_RCPT = [
    pytest.param("alex@contoso.com", R.FABRIKAM_OK_RCPT, "filter.rcpt.ok", id="tenant-domain"),
    pytest.param("nobody@contoso.onmicrosoft.com", R.FABRIKAM_OK_RCPT, "filter.rcpt.ok", id="initial-domain"),
    pytest.param("Alex@CONTOSO.COM.", R.FABRIKAM_OK_RCPT, "filter.rcpt.ok", id="case-and-dot"),
    pytest.param("pat@fabrikam.com", R.FABRIKAM_RELAY_DENIED, "filter.relay-denied", id="outside-domain"),
    pytest.param(
        "alex@contoso.com.evil.example", R.FABRIKAM_RELAY_DENIED, "filter.relay-denied", id="lookalike"
    ),
]


@pytest.mark.parametrize(("address", "reply", "rule"), FILTER_RCPT)
def test_filter_rcpt(world: World, address: str, reply: R.Reply, rule: str) -> None:
    decision = mailfilter.rcpt_to(world.tenant, LITWARE, address)
    assert (decision.reply, decision.rule) == (reply, rule)


@pytest.mark.parametrize(("tls", "word"), [(True, "ESMTPS"), (False, "ESMTP")])
def test_filter_received_line_names_the_sender_address(tls: bool, word: str) -> None:
    line = mailfilter.received_line(LITWARE, "mail.fabrikam.com", FABRIKAM_IP, tls, "Fri, 27 Nov 2026")
    assert (
        line
        == f"from mail.fabrikam.com ([{FABRIKAM_IP}]) by filter.litware.com with {word}; Fri, 27 Nov 2026"
    )
    assert EF.received_sources([line]) == [FABRIKAM_IP]


NOT_FOUND = R.Reply(
    550, "5.1.10", "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"
)
# (Microsoft 365's refusals of the filter's RCPTs, recipients relayed) -> what the filter answers before DATA.
RELAY_REFUSALS = [
    pytest.param([], 1, None, id="all-taken"),
    pytest.param([NOT_FOUND], 2, None, id="one-of-two-refused-data-goes-on"),
    pytest.param([NOT_FOUND], 1, NOT_FOUND, id="the-only-one-refused"),
    pytest.param([R.RELAY_DENIED, NOT_FOUND], 2, R.RELAY_DENIED, id="every-one-refused-first-answer"),
    pytest.param([], 0, None, id="no-recipients"),
]


@pytest.mark.parametrize(("refusals", "recipients", "expected"), RELAY_REFUSALS)
def test_filter_relay_refusal(refusals: list[R.Reply], recipients: int, expected: R.Reply | None) -> None:
    assert mailfilter.relay_refusal(refusals, recipients) == expected


# EHLO as the client sent it -> the "from" word of the filter's Received line (RFC 5321 §4.4).
HELO_WORDS = [
    pytest.param("mail.fabrikam.com", "mail.fabrikam.com", id="name"),
    pytest.param(f"x ([{FABRIKAM_IP}])", "x", id="forged-tcp-info"),
    pytest.param(f"x([{FABRIKAM_IP}])", f"x{FABRIKAM_IP}", id="forged-glued"),
    pytest.param("a;b (c)", "ab", id="semicolon"),
    pytest.param(f"[{FABRIKAM_IP}]", f"[{FABRIKAM_IP}]", id="address-literal-kept"),
    pytest.param("[IPv6:2001:db8::25]", "[IPv6:2001:db8::25]", id="ipv6-literal-kept"),
    pytest.param("[not-an-address]", "not-an-address", id="bad-literal"),
    pytest.param("([])", "unknown", id="nothing-left"),
    pytest.param("", "unknown", id="none"),
]


@pytest.mark.parametrize(("helo", "word"), HELO_WORDS)
def test_filter_received_line_keeps_the_ehlo_out_of_the_comment(helo: str, word: str) -> None:
    line = mailfilter.received_line(LITWARE, helo, "198.51.100.99", False, "Fri, 27 Nov 2026")
    assert line == f"from {word} ([198.51.100.99]) by filter.litware.com with ESMTP; Fri, 27 Nov 2026"
    assert EF.received_sources([line]) == ["198.51.100.99"]


# -- outbound routing ------------------------------------------------------------------------------------
ON_PREMISES = OutboundConnector(
    "To on-premises",
    "OnPremises",
    ["*"],
    ["mail.contoso.com"],
    use_mx_record=False,
    route_all_messages_via_on_premises=True,
)
TO_FABRIKAM = OutboundConnector("To Fabrikam", "Partner", ["fabrikam.com"], tls_settings="EncryptionOnly")
TO_FABRIKAM_SMART = OutboundConnector(
    "Fabrikam smart host", "Partner", ["*.fabrikam.com", "fabrikam.com"], ["192.0.2.25"], use_mx_record=False
)
ANY_PARTNER = OutboundConnector("Everyone", "Partner", ["*"], ["smart.litware.com"], use_mx_record=False)

ROUTES = [
    pytest.param([], "alex@contoso.com", ("mailbox", "alex@contoso.com", None, None), id="internal"),
    pytest.param(
        [ON_PREMISES], "alex@contoso.com", ("mailbox", "alex@contoso.com", None, None), id="internal-cmt"
    ),
    pytest.param([], "pat@fabrikam.com", ("mx", "MX of fabrikam.com", None, None), id="no-connector-mx"),
    pytest.param(
        [TO_FABRIKAM],
        "pat@fabrikam.com",
        ("partner", "MX of fabrikam.com", "To Fabrikam", "EncryptionOnly"),
        id="partner-forced-tls-by-mx",
    ),
    pytest.param(
        [TO_FABRIKAM],
        "someone@northwind.example",
        ("mx", "MX of northwind.example", None, None),
        id="other-domain",
    ),
    pytest.param(
        [ANY_PARTNER, TO_FABRIKAM_SMART],
        "pat@fabrikam.com",
        ("partner", "192.0.2.25", "Fabrikam smart host", None),
        id="exact-domain-beats-star",
    ),
    pytest.param(
        [TO_FABRIKAM_SMART],
        "pat@eu.fabrikam.com",
        ("partner", "192.0.2.25", "Fabrikam smart host", None),
        id="subdomain-wildcard",
    ),
    pytest.param(
        [TO_FABRIKAM, ON_PREMISES],
        "pat@fabrikam.com",
        ("on-premises", "mail.contoso.com", "To on-premises", None),
        id="centralized-transport-wins",
    ),
    pytest.param(
        [OutboundConnector("To on-premises", "OnPremises", ["*"], ["mail.contoso.com"], use_mx_record=False)],
        "pat@fabrikam.com",
        ("mx", "MX of fabrikam.com", None, None),
        id="onpremises-without-centralized-transport",
    ),
    pytest.param(
        [
            OutboundConnector(
                "Off", "Partner", ["fabrikam.com"], ["192.0.2.99"], use_mx_record=False, enabled=False
            )
        ],
        "pat@fabrikam.com",
        ("mx", "MX of fabrikam.com", None, None),
        id="disabled-connector",
    ),
]


@pytest.mark.parametrize(("connectors", "recipient", "expected"), ROUTES)
def test_outbound_route(
    world: World, connectors: list[OutboundConnector], recipient: str, expected: tuple[Any, ...]
) -> None:
    world.tenant.outbound_connectors.extend(connectors)
    route = outbound.route(world.tenant, recipient)
    assert (route.kind, route.next_hop, route.connector, route.tls) == expected
    assert route.via_on_premises == (route.kind == "on-premises")
    assert route.followed == (route.connector is None)  # the lab's relay follows no connector
    assert route.explanation
