"""Microsoft 365's host names: the submission endpoints, a domain's MX host, SPF's include, outbound HELO."""

from __future__ import annotations

from .model import World

# [MFD] "How to set up a multifunction device or application to send email using Microsoft 365".
SUBMISSION_SERVER = "smtp.office365.com"  # [MFD]: use the DNS name, never an IP address
LEGACY_SUBMISSION_SERVER = "smtp-legacy.office365.com"  # TLS 1.0/1.1 opt-in endpoint ([AUTHSMTP])
SUBMISSION_HOSTS = (SUBMISSION_SERVER, LEGACY_SUBMISSION_SERVER)
MX_SUFFIX = ".mail.protection.outlook.com"
MX_WILDCARD = "*" + MX_SUFFIX  # the name the MX's certificate covers
M365_SPF_INCLUDE = "include:spf.protection.outlook.com"
# What Microsoft 365 asks a domain that sends only through it to publish ([MFD], SPF setup).
M365_SPF_RECORD = f"v=spf1 {M365_SPF_INCLUDE} -all"
# Lab choice: a made-up but well-formed Exchange Online Protection outbound server name.
OUTBOUND_HELO = "EUR05-AM6-obe.outbound.protection.outlook.com"


def mx_host_for(domain: str) -> str:
    """A domain's Microsoft 365 MX host: its dots become hyphens (contoso.com -> contoso-com.mail...)."""
    return domain.lower().rstrip(".").replace(".", "-") + MX_SUFFIX


def default_domain(world: World) -> str:
    """The tenant's default accepted domain (the first one listed when none is marked default)."""
    domains = world.tenant.accepted_domains
    return next((d.name for d in domains if d.default), domains[0].name)


def tenant_mx_host(world: World) -> str:
    """The tenant's MX host, from its default accepted domain: what the lab serves as the MX."""
    return mx_host_for(default_domain(world))


def is_mx_host(host: str) -> bool:
    """A host name under mail.protection.outlook.com (any tenant's MX)."""
    return host.lower().rstrip(".").endswith(MX_SUFFIX)
