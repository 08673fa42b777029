"""The tenant MX: direct send, RejectDirectSend, OnPremises relay connectors and Partner restrictions."""

from __future__ import annotations

from ipaddress import ip_network
from typing import Any

import pytest

from mailflow_lab.policy import inbound as I
from mailflow_lab.policy import replies as R
from mailflow_lab.world.model import InboundConnector, World

OFFICE_IP = "203.0.113.10"  # the head office's NAT address in the default world
BRANCH_IP = "198.51.100.23"
ELSEWHERE_IP = "192.0.2.77"
PARTNER_IP = "198.51.100.40"

PRINTER = "printer@contoso.com"  # an accepted-domain sender without a mailbox
ALEX = "alex@contoso.com"
HELPDESK = "helpdesk@contoso.com"
PAT = "pat@fabrikam.com"
NORTHWIND = "orders@northwind.example"

BY_IP = InboundConnector(name="Office printers", sender_ip_addresses=[ip_network(f"{OFFICE_IP}/32")])
BY_RANGE = InboundConnector(name="Office range", sender_ip_addresses=[ip_network("203.0.113.0/24")])
BY_CERT = InboundConnector(name="Relay by certificate", tls_sender_certificate_name="relay.contoso.com")
BY_WILDCARD = InboundConnector(name="Any contoso host", tls_sender_certificate_name="*.contoso.com")
DISABLED = InboundConnector(
    name="Old printers", sender_ip_addresses=[ip_network(f"{OFFICE_IP}/32")], enabled=False
)
BY_IP_TLS = InboundConnector(
    name="Printers with TLS", sender_ip_addresses=[ip_network(f"{OFFICE_IP}/32")], require_tls=True
)
PARTNER_BY_IP = InboundConnector(
    name="Fabrikam by IP",
    connector_type="Partner",
    sender_domains=["fabrikam.com"],
    sender_ip_addresses=[ip_network("198.51.100.32/28")],
    restrict_domains_to_ip_addresses=True,
)
PARTNER_BY_CERT = InboundConnector(
    name="Fabrikam by certificate",
    connector_type="Partner",
    sender_domains=["fabrikam.com"],
    tls_sender_certificate_name="mail.fabrikam.com",
    restrict_domains_to_certificate=True,
)
PARTNER_TLS = InboundConnector(
    name="Fabrikam TLS",
    connector_type="Partner",
    sender_domains=["fabrikam.com"],
    tls_sender_certificate_name="mail.fabrikam.com",
    require_tls=True,
)
PARTNER_DISABLED = InboundConnector(
    name="Fabrikam old",
    connector_type="Partner",
    sender_domains=["fabrikam.com"],
    sender_ip_addresses=[ip_network("198.51.100.32/28")],
    restrict_domains_to_ip_addresses=True,
    enabled=False,
)


def facts(
    mail_from: str = PRINTER,
    rcpt: str = ALEX,
    *,
    ip: str = OFFICE_IP,
    certs: tuple[str, ...] = (),
    tls: bool | None = None,
) -> I.InboundFacts:
    """What the MX knows at RCPT TO; a certificate implies a TLS session."""
    tls_active = bool(certs) if tls is None else tls
    return I.InboundFacts(
        client_ip=ip, cert_names=certs, tls_active=tls_active, mail_from=mail_from, rcpt=rcpt
    )


# (code, enhanced, rule, route, connector, key words of the reply text)
def direct_send() -> tuple:
    return (250, "2.1.5", "mx.direct-send", "direct-send", None, ("Recipient OK",))


def from_outside() -> tuple:
    return (250, "2.1.5", "mx.inbound", "inbound", None, ("Recipient OK",))


def relayed(connector: InboundConnector) -> tuple:
    return (250, "2.1.5", "connector.relay", "connector", connector.name, ("Recipient OK",))


RELAY_DENIED = (550, "5.7.64", "mx.relay-denied", None, None, ("TenantAttribution", "Relay Access Denied"))
# Directory-Based Edge Blocking: contoso.com is Authoritative, so an unknown address is refused at RCPT.
NOT_FOUND = (550, "5.4.1", "mx.directory-based-edge-blocking", None, None, ("Access denied", "AS(201806281)"))
REJECT_DIRECT_SEND = (
    550,
    "5.7.68",
    "mx.reject-direct-send",
    None,
    None,
    ("TenantInboundAttribution", "Direct Send not allowed for this organization from unauthorized sources"),
)
TLS_REQUIRED = (454, "4.7.0", "connector.require-tls", None, None, ("Failed to establish appropriate TLS",))
PARTNER_RESTRICTED = (
    550,
    "5.7.51",
    "connector.partner-restricted",
    None,
    None,
    ("TenantInboundAttribution", "RestrictDomainsToIPAddresses or RestrictDomainsToCertificate"),
)
PARTNER_TLS_REQUIRED = (
    454,
    "4.7.0",
    "connector.partner-require-tls",
    None,
    None,
    ("Failed to establish appropriate TLS channel: Access Denied",),
)

NO_REJECT = {"reject_direct_send": False}
REJECT = {"reject_direct_send": True}

ROWS = [
    # (tenant settings, connectors, facts, expected)
    # -- direct send (no connector) --
    pytest.param({}, [], facts(), direct_send(), id="direct-send-to-internal-mailbox"),
    pytest.param({}, [], facts(rcpt=HELPDESK), direct_send(), id="direct-send-to-shared-mailbox"),
    pytest.param({}, [], facts(rcpt="Alex@Contoso.com"), direct_send(), id="direct-send-rcpt-other-case"),
    pytest.param({}, [], facts(tls=True), direct_send(), id="direct-send-over-starttls"),
    pytest.param({}, [], facts(ip=ELSEWHERE_IP), direct_send(), id="direct-send-from-any-ip"),
    pytest.param(
        {}, [], facts("app@contoso.onmicrosoft.com"), direct_send(), id="direct-send-from-initial-domain"
    ),
    pytest.param({}, [], facts(rcpt=PAT), RELAY_DENIED, id="direct-send-to-external-domain"),
    pytest.param({}, [], facts(rcpt="nobody@contoso.com"), NOT_FOUND, id="direct-send-to-unknown-internal"),
    pytest.param({}, [], facts(PAT, ALEX, ip=BRANCH_IP), from_outside(), id="outside-sender-to-mailbox"),
    pytest.param({}, [], facts(PAT, NORTHWIND), RELAY_DENIED, id="outside-sender-relay-attempt"),
    # -- RejectDirectSend --
    pytest.param(REJECT, [], facts(), REJECT_DIRECT_SEND, id="reject-direct-send-accepted-domain-sender"),
    pytest.param(
        REJECT,
        [],
        facts("app@contoso.onmicrosoft.com"),
        REJECT_DIRECT_SEND,
        id="reject-direct-send-initial-domain-sender",
    ),
    pytest.param(REJECT, [], facts(ALEX, ALEX), REJECT_DIRECT_SEND, id="reject-direct-send-mailbox-sender"),
    pytest.param(
        REJECT, [], facts(PAT, ALEX), from_outside(), id="reject-direct-send-outside-sender-unaffected"
    ),
    pytest.param(REJECT, [], facts("", ALEX), from_outside(), id="reject-direct-send-null-sender-unaffected"),
    pytest.param(NO_REJECT, [], facts(), direct_send(), id="reject-direct-send-off-by-default"),
    pytest.param(REJECT, [BY_IP], facts(), relayed(BY_IP), id="reject-direct-send-connector-still-works"),
    # -- OnPremises connector by IP --
    pytest.param({}, [BY_IP], facts(rcpt=PAT), relayed(BY_IP), id="ip-connector-relays-to-external"),
    pytest.param({}, [BY_IP], facts(rcpt=ALEX), relayed(BY_IP), id="ip-connector-to-internal"),
    pytest.param({}, [BY_RANGE], facts(rcpt=PAT), relayed(BY_RANGE), id="ip-range-connector-relays"),
    pytest.param(
        {}, [BY_RANGE], facts(rcpt=PAT, ip="203.0.113.200"), relayed(BY_RANGE), id="ip-range-other-host"
    ),
    pytest.param(
        {}, [BY_IP], facts(rcpt=PAT, ip=BRANCH_IP), RELAY_DENIED, id="ip-connector-other-ip-no-relay"
    ),
    pytest.param(
        {}, [BY_IP], facts(rcpt="nobody@contoso.com"), NOT_FOUND, id="ip-connector-unknown-internal"
    ),
    pytest.param(
        {},
        [BY_IP],
        facts("app@contoso.onmicrosoft.com", PAT),
        relayed(BY_IP),
        id="ip-connector-initial-domain",
    ),
    pytest.param({}, [BY_IP], facts(PAT, NORTHWIND), RELAY_DENIED, id="ip-connector-non-accepted-sender"),
    pytest.param(
        {}, [BY_IP], facts(NORTHWIND, PAT), RELAY_DENIED, id="ip-connector-non-accepted-sender-to-external"
    ),
    pytest.param(
        {}, [BY_IP], facts(PAT, ALEX), from_outside(), id="ip-connector-non-accepted-sender-to-internal"
    ),
    pytest.param({}, [DISABLED], facts(rcpt=PAT), RELAY_DENIED, id="disabled-connector-ignored"),
    pytest.param({}, [DISABLED], facts(rcpt=ALEX), direct_send(), id="disabled-connector-is-direct-send"),
    pytest.param(REJECT, [DISABLED], facts(), REJECT_DIRECT_SEND, id="disabled-connector-reject-direct-send"),
    # -- OnPremises connector by certificate --
    pytest.param(
        {}, [BY_CERT], facts(rcpt=PAT, certs=("relay.contoso.com",)), relayed(BY_CERT), id="cert-connector"
    ),
    pytest.param(
        {},
        [BY_CERT],
        facts(rcpt=PAT, ip=ELSEWHERE_IP, certs=("relay.contoso.com",)),
        relayed(BY_CERT),
        id="cert-connector-any-ip",
    ),
    pytest.param(
        {},
        [BY_CERT],
        facts(rcpt=PAT, certs=("other.example", "relay.contoso.com")),
        relayed(BY_CERT),
        id="cert-connector-name-in-san",
    ),
    pytest.param(
        {},
        [BY_CERT],
        facts(rcpt=PAT, certs=("mail.contoso.com",)),
        RELAY_DENIED,
        id="cert-connector-other-name",
    ),
    pytest.param({}, [BY_CERT], facts(rcpt=PAT, tls=True), RELAY_DENIED, id="cert-connector-no-client-cert"),
    pytest.param(
        {},
        [BY_WILDCARD],
        facts(rcpt=PAT, certs=("scan01.contoso.com",)),
        relayed(BY_WILDCARD),
        id="wildcard-cert-connector",
    ),
    pytest.param(
        {},
        [BY_WILDCARD],
        facts(rcpt=PAT, certs=("a.b.contoso.com",)),
        relayed(BY_WILDCARD),
        id="wildcard-cert-covers-every-depth",
    ),
    pytest.param(
        {},
        [BY_WILDCARD],
        facts(rcpt=PAT, certs=("contoso.com",)),
        relayed(BY_WILDCARD),
        id="wildcard-the-apex",
    ),
    pytest.param(
        {},
        [BY_WILDCARD],
        facts(rcpt=PAT, certs=("scan01.fabrikam.com",)),
        RELAY_DENIED,
        id="wildcard-other-domain",
    ),
    # -- RequireTls applies only to Partner connectors (EOP sheet; New-InboundConnector) --
    pytest.param(
        {}, [BY_IP_TLS], facts(rcpt=PAT, tls=False), relayed(BY_IP_TLS), id="onpremises-require-tls-ignored"
    ),
    pytest.param({}, [BY_IP_TLS], facts(rcpt=PAT, tls=True), relayed(BY_IP_TLS), id="require-tls-with-tls"),
    # -- Partner connectors --
    pytest.param(
        {},
        [PARTNER_BY_IP],
        facts(PAT, ALEX, ip=ELSEWHERE_IP),
        PARTNER_RESTRICTED,
        id="partner-ip-not-matching",
    ),
    pytest.param(
        {}, [PARTNER_BY_IP], facts(PAT, ALEX, ip=BRANCH_IP), PARTNER_RESTRICTED, id="partner-ip-just-outside"
    ),
    pytest.param(
        {}, [PARTNER_BY_IP], facts(PAT, ALEX, ip=PARTNER_IP), from_outside(), id="partner-ip-matching"
    ),
    pytest.param(
        {},
        [PARTNER_BY_IP],
        facts("news@mail.fabrikam.com", ALEX, ip=ELSEWHERE_IP),
        PARTNER_RESTRICTED,
        id="partner-ip-subdomain-sender",
    ),
    pytest.param(
        {},
        [PARTNER_BY_IP],
        facts(NORTHWIND, ALEX, ip=ELSEWHERE_IP),
        from_outside(),
        id="partner-other-sender-domain-unaffected",
    ),
    pytest.param(
        {},
        [PARTNER_BY_CERT],
        facts(PAT, ALEX, ip=ELSEWHERE_IP, certs=("mail.fabrikam.com",)),
        from_outside(),
        id="partner-cert-matching",
    ),
    pytest.param(
        {},
        [PARTNER_BY_CERT],
        facts(PAT, ALEX, certs=("smtp.fabrikam.com",)),
        PARTNER_RESTRICTED,
        id="partner-cert-other-name",
    ),
    pytest.param(
        {},
        [PARTNER_BY_CERT],
        facts(PAT, ALEX, tls=True),
        PARTNER_RESTRICTED,
        id="partner-cert-none-presented",
    ),
    pytest.param(
        {}, [PARTNER_BY_CERT], facts(PAT, ALEX, tls=False), PARTNER_RESTRICTED, id="partner-cert-without-tls"
    ),
    pytest.param(
        {},
        [PARTNER_DISABLED],
        facts(PAT, ALEX, ip=ELSEWHERE_IP),
        from_outside(),
        id="partner-disabled-ignored",
    ),
    pytest.param(
        {}, [PARTNER_TLS], facts(PAT, ALEX, tls=False), PARTNER_TLS_REQUIRED, id="partner-require-tls-without"
    ),
    pytest.param(
        {}, [PARTNER_TLS], facts(PAT, ALEX, tls=True), from_outside(), id="partner-require-tls-with"
    ),
]


@pytest.mark.parametrize(("settings", "connectors", "facts_", "expected"), ROWS)
def test_rcpt_to(
    make_tenant: Any,
    settings: dict,
    connectors: list[InboundConnector],
    facts_: I.InboundFacts,
    expected: tuple,
) -> None:
    tenant = make_tenant(settings, connectors=connectors)
    outcome = I.rcpt_to(tenant, facts_)
    code, enhanced, rule, route, connector, words = expected
    reply = outcome.decision.reply
    assert (reply.code, reply.enhanced, outcome.decision.rule) == (code, enhanced, rule)
    assert (outcome.route, outcome.connector) == (route, connector)
    for word in words:
        assert word in reply.text, f"{word!r} not in {reply.text!r}"
    assert outcome.decision.explanation.strip()
    if connector is not None:
        assert connector in outcome.decision.explanation


@pytest.mark.parametrize(
    ("rule", "reply"),
    [
        pytest.param("mx.relay-denied", R.RELAY_DENIED, id="5.7.64"),
        pytest.param("mx.reject-direct-send", R.DIRECT_SEND_REJECTED, id="5.7.68"),
        pytest.param("connector.partner-restricted", R.PARTNER_CONNECTOR_RESTRICTED, id="5.7.51"),
        pytest.param("connector.partner-require-tls", R.TLS_REQUIRED, id="4.7.0"),
    ],
)
def test_refusals_use_the_catalogue_reply(make_tenant: Any, rule: str, reply: R.Reply) -> None:
    cases = {
        "mx.relay-denied": ({}, [], facts(rcpt=PAT)),
        "mx.reject-direct-send": (REJECT, [], facts()),
        "connector.partner-restricted": ({}, [PARTNER_BY_IP], facts(PAT, ALEX, ip=ELSEWHERE_IP)),
        "connector.partner-require-tls": ({}, [PARTNER_TLS], facts(PAT, ALEX, tls=False)),
    }
    settings, connectors, facts_ = cases[rule]
    outcome = I.rcpt_to(make_tenant(settings, connectors=connectors), facts_)
    assert outcome.decision.rule == rule
    assert outcome.decision.reply == reply


# -- which OnPremises connector recognises the device -----------------------------------------------------


@pytest.mark.parametrize(
    ("connectors", "facts_", "expected"),
    [
        pytest.param([], facts(), None, id="no-connectors"),
        pytest.param([BY_IP], facts(), BY_IP.name, id="by-ip"),
        pytest.param([BY_IP], facts(ip=BRANCH_IP), None, id="other-ip"),
        pytest.param([BY_IP], facts(ip="not-an-ip"), None, id="unparsable-ip"),
        pytest.param([DISABLED], facts(), None, id="disabled"),
        pytest.param([DISABLED, BY_RANGE], facts(), BY_RANGE.name, id="disabled-skipped-next-matches"),
        pytest.param([BY_CERT], facts(certs=("relay.contoso.com",)), BY_CERT.name, id="by-certificate"),
        pytest.param(
            [BY_IP, BY_CERT],
            facts(certs=("relay.contoso.com",)),
            BY_CERT.name,
            id="certificate-before-ip-MC1226222",
        ),
        pytest.param([BY_IP, BY_CERT], facts(certs=("x.example",)), BY_IP.name, id="ip-when-cert-unmatched"),
        pytest.param([PARTNER_BY_IP], facts(ip=PARTNER_IP), None, id="partner-is-not-onpremises"),
    ],
)
def test_matching_onpremises_connector(
    make_tenant: Any, connectors: list[InboundConnector], facts_: I.InboundFacts, expected: str | None
) -> None:
    found = I.matching_onpremises_connector(make_tenant(connectors=connectors), facts_)
    assert (found.name if found else None) == expected


@pytest.mark.parametrize(
    ("pattern", "names", "matches"),
    [
        pytest.param("relay.contoso.com", ("relay.contoso.com",), True, id="exact"),
        pytest.param("Relay.Contoso.com", ("relay.contoso.com",), True, id="pattern-case-insensitive"),
        pytest.param("relay.contoso.com", ("mail.example", "relay.contoso.com"), True, id="any-name"),
        pytest.param("relay.contoso.com", ("mail.contoso.com",), False, id="other-host"),
        pytest.param("relay.contoso.com", (), False, id="no-certificate"),
        pytest.param("*.contoso.com", ("scan01.contoso.com",), True, id="wildcard-one-label"),
        pytest.param("*.contoso.com", ("a.b.contoso.com",), True, id="wildcard-any-depth"),
        pytest.param("*.contoso.com", ("contoso.com",), True, id="wildcard-the-domain-itself"),
        pytest.param("*.contoso.com", ("notcontoso.com",), False, id="wildcard-not-a-suffix-lookalike"),
        pytest.param("*.contoso.com", ("scan01.notcontoso.com",), False, id="wildcard-not-suffix-lookalike"),
        pytest.param("*.contoso.com", ("*.contoso.com",), True, id="wildcard-certificate-itself"),
        pytest.param("contoso.com", ("relay.contoso.com",), False, id="apex-does-not-cover-hosts"),
    ],
)
def test_certificate_matches(pattern: str, names: tuple[str, ...], matches: bool) -> None:
    assert I.certificate_matches(pattern, names) is matches


# -- EHLO at the MX -----------------------------------------------------------------------------------------


def test_mx_ehlo_offers_starttls_and_no_auth() -> None:
    before = I.ehlo_extensions()
    assert before == list(R.EHLO_EXTENSIONS_BEFORE_TLS)
    assert "STARTTLS" in before
    assert not any(e.startswith("AUTH") for e in before)
    after = I.ehlo_extensions_after_tls()
    assert not any(e.startswith("AUTH") for e in after)
    assert after == [e for e in before if e != "STARTTLS"]


@pytest.mark.parametrize(
    ("address", "domain"),
    [
        pytest.param("alex@contoso.com", "contoso.com", id="plain"),
        pytest.param("Alex@Contoso.COM", "contoso.com", id="lower-cased"),
        pytest.param("alex@contoso.com.", "contoso.com", id="trailing-dot"),
        pytest.param('"a@b"@fabrikam.com', "fabrikam.com", id="quoted-local-part-with-at"),
        pytest.param("", "", id="null-sender"),
    ],
)
def test_domain_of(address: str, domain: str) -> None:
    assert I.domain_of(address) == domain


# -- mail relayed through a connector: internal or not (TreatMessagesAsInternal) ----------------------------
ON_PREMISES = InboundConnector(
    name="From on-premises",
    tls_sender_certificate_name="mail.contoso.com",
    treat_messages_as_internal=True,
)
CONNECTOR_MAIL = [
    pytest.param([ON_PREMISES], "From on-premises", [ALEX], (True, True), id="internal-connector-to-tenant"),
    pytest.param(
        [ON_PREMISES], "From on-premises", [ALEX, PAT], (False, True), id="internal-connector-one-outside"
    ),
    pytest.param([ON_PREMISES], "From on-premises", [PAT], (False, True), id="internal-connector-relay-out"),
    pytest.param([BY_IP], "Office printers", [ALEX, HELPDESK], (True, False), id="plain-connector-to-tenant"),
    pytest.param([BY_IP], "Office printers", [NORTHWIND], (False, False), id="plain-connector-relay-out"),
    pytest.param(
        [BY_IP, ON_PREMISES], "Office printers", [ALEX], (True, False), id="only-the-named-connector-counts"
    ),
    pytest.param([ON_PREMISES], "Gone", [ALEX], (True, False), id="connector-removed-since"),
    pytest.param([], "From on-premises", ["Alex@CONTOSO.COM."], (True, False), id="case-and-dot"),
]


@pytest.mark.parametrize(("connectors", "name", "recipients", "expected"), CONNECTOR_MAIL)
def test_connector_mail(
    world: World,
    connectors: list[InboundConnector],
    name: str,
    recipients: list[str],
    expected: tuple[bool, bool],
) -> None:
    world.tenant.inbound_connectors.extend(connectors)
    kind = I.connector_mail(world.tenant, name, recipients)
    assert (kind.internal_only, kind.treat_as_internal) == expected


def test_an_unknown_address_in_an_internal_relay_domain_is_not_edge_blocked(make_tenant: Any) -> None:
    """DBEB is for Authoritative domains only; the lab refuses the rest with 5.1.10 (its choice)."""
    tenant = make_tenant({})
    for domain in tenant.accepted_domains:
        domain.domain_type = "InternalRelay"
    outcome = I.rcpt_to(tenant, facts(rcpt="nobody@contoso.com"))
    reply = outcome.decision.reply
    assert (reply.code, reply.enhanced, outcome.decision.rule) == (550, "5.1.10", "mx.recipient-not-found")
