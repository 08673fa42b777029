"""Rules a connector must follow, shared by the world loader and New-/Set-InboundConnector."""

from __future__ import annotations

import ipaddress

from .datafile import parse_domain_ok, parse_email
from .model import InboundConnector, OutboundConnector, Tenant


def connector_problem(tenant: Tenant, connector: InboundConnector) -> tuple[str, str] | None:
    """(field, problem) for the first rule the connector breaks, or None when it is fine."""
    # New-InboundConnector: SenderIPAddresses takes IPv4 addresses and ranges from /24 to /32.
    for index, network in enumerate(connector.sender_ip_addresses):
        if network.version != 4 or network.prefixlen < 24:
            return (
                f"sender_ip_addresses[{index}]",
                f"expected an IPv4 address or range from /24 to /32, got {network}",
            )
    if connector.connector_type == "OnPremises" and not (
        connector.sender_ip_addresses or connector.tls_sender_certificate_name
    ):
        return (
            "sender_ip_addresses",
            "an OnPremises connector needs sender_ip_addresses or tls_sender_certificate_name "
            "to recognise mail",
        )
    # New-InboundConnector -EFSkipIPs: IPv4 addresses and CIDR ranges from /24 to /32, as SenderIPAddresses.
    for index, network in enumerate(connector.ef_skip_ips):
        if network.version != 4 or network.prefixlen < 24:
            return (
                f"ef_skip_ips[{index}]",
                f"expected an IPv4 address or range from /24 to /32, got {network}",
            )
    # New-InboundConnector -EFUsers: the recipient email addresses Enhanced Filtering applies to.
    for index, user in enumerate(connector.ef_users):
        if not _email_ok(user):
            return (f"ef_users[{index}]", f"expected an email address such as alex@contoso.com, got {user!r}")
    cert = connector.tls_sender_certificate_name
    # [MFD]: an OnPremises certificate connector names a certificate in one of your accepted domains.
    if connector.connector_type == "OnPremises" and cert:
        base = cert.removeprefix("*.")
        if not any(base == d.name or base.endswith("." + d.name) for d in tenant.accepted_domains):
            domains = ", ".join(d.name for d in tenant.accepted_domains)
            return (
                "tls_sender_certificate_name",
                f"{cert} is not in an accepted domain of the tenant ({domains})",
            )
    return None


def outbound_connector_problem(connector: OutboundConnector) -> tuple[str, str] | None:
    """(field, problem) for the first rule an outbound connector breaks (New-OutboundConnector), or None."""
    # -SmartHosts: FQDNs such as server.contoso.com, IP addresses, or CIDR ranges such as 192.168.0.1/25.
    for index, host in enumerate(connector.smart_hosts):
        if not _smart_host_ok(host):
            return (
                f"smart_hosts[{index}]",
                f"expected a host name such as mail.contoso.com, an IP address or a CIDR range, got {host!r}",
            )
    # -RecipientDomains: the domains the connector routes mail to; * for all, *.contoso.com for subdomains.
    for index, pattern in enumerate(connector.recipient_domains):
        if not _recipient_domain_ok(pattern):
            return (
                f"recipient_domains[{index}]",
                f"expected *, a domain such as fabrikam.com or *.fabrikam.com, got {pattern!r}",
            )
    # -SmartHosts: "This parameter is required if you use the value $false for the UseMxRecord parameter."
    if not connector.use_mx_record and not connector.smart_hosts:
        return ("smart_hosts", "UseMXRecord is $false: name the smart hosts to deliver to (SmartHosts)")
    # -RouteAllMessagesViaOnPremises: "This setting requires OnPremises for the ConnectorType value."
    if connector.route_all_messages_via_on_premises and connector.connector_type != "OnPremises":
        return (
            "route_all_messages_via_on_premises",
            "RouteAllMessagesViaOnPremises requires ConnectorType OnPremises",
        )
    # -TlsDomain is meaningful only when TlsSettings is DomainValidation.
    if connector.tls_domain and connector.tls_settings != "DomainValidation":
        return ("tls_domain", "TlsDomain applies only with TlsSettings DomainValidation")
    return None


def _host_name_ok(name: str) -> bool:
    # RFC 3696 §2: a top-level domain is never all-numeric, so 192.0.2.256 is a bad address, not a name.
    return "*" not in name and parse_domain_ok(name) and not name.rstrip(".").rpartition(".")[2].isdigit()


def _smart_host_ok(host: str) -> bool:
    try:
        ipaddress.ip_network(host, strict=False)
    except ValueError:
        return _host_name_ok(host)
    return True


def _recipient_domain_ok(pattern: str) -> bool:
    return pattern == "*" or _host_name_ok(pattern.removeprefix("*."))


def _email_ok(address: str) -> bool:
    try:
        parse_email(address)
    except ValueError:
        return False
    return True


# Sheet "Sharing and organisation relationships": the actions a sharing policy's domain entry takes.
SHARING_ACTIONS = (
    "CalendarSharingFreeBusySimple",  # free/busy times
    "CalendarSharingFreeBusyDetail",  # plus subject and location
    "CalendarSharingFreeBusyReviewer",  # plus body
    "ContactsSharing",
)
FREE_BUSY_ACCESS_LEVELS = ("None", "AvailabilityOnly", "LimitedDetails")  # New-OrganizationRelationship
MAIL_TIPS_ACCESS_LEVELS = ("All", "Limited", "None")


def parse_sharing_domain(text: str) -> tuple[str, list[str]]:
    """'<domain>: <action>[, <action>]' -> (domain, actions); ValueError saying what is wrong."""
    domain, colon, rest = text.partition(":")
    domain = domain.strip()
    if not colon or not domain:
        raise ValueError(
            "expected '<domain>: <action>' such as 'fabrikam.com: CalendarSharingFreeBusyDetail', "
            f"got {text!r}"
        )
    if domain.lower() == "anonymous":
        domain = "Anonymous"
    elif domain != "*":
        labels = domain.lower().rstrip(".").split(".")
        if len(labels) < 2 or not all(
            label and all(c.isalnum() or c == "-" for c in label) for label in labels
        ):
            raise ValueError(f"expected *, Anonymous or a domain name such as fabrikam.com, got {domain!r}")
        domain = ".".join(labels)
    actions: list[str] = []
    for word in (w.strip() for w in rest.split(",")):
        action = next((a for a in SHARING_ACTIONS if a.lower() == word.lower()), None)
        if action is None:
            raise ValueError(f"unknown sharing action {word!r} (expected {', '.join(SHARING_ACTIONS)})")
        if action not in actions:
            actions.append(action)
    calendar = [a for a in actions if a.startswith("CalendarSharing")]
    if len(calendar) > 1:  # lab rule: one calendar level per domain, the most that may be shared
        raise ValueError(f"{domain}: choose one calendar sharing action, not {', '.join(calendar)}")
    if domain == "Anonymous" and "ContactsSharing" in actions:
        # Anonymous sharing is a published calendar link: there is nothing of contacts to publish.
        raise ValueError("Anonymous: only calendar sharing actions apply to anonymous people")
    return domain, actions


def sharing_domain_text(domain: str, actions: list[str]) -> str:
    """(domain, actions) -> 'domain:action,action', as Get-SharingPolicy shows an entry."""
    return f"{domain}:{','.join(actions)}"
