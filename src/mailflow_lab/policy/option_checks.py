"""The three options checked against one device's sessions and the tenant: blockers, settings, notes."""

from __future__ import annotations

from collections.abc import Mapping

from ..world.hosts import M365_SPF_INCLUDE, SUBMISSION_SERVER
from ..world.model import Tenant, World
from . import replies as R
from .devices import LEGACY_SERVER, DeviceFacts
from .inbound import InboundFacts, domain_of, matching_onpremises_connector
from .option_verdict import Blocker, OptionVerdict, VerdictDraft
from .submission import LEGACY_TLS_VERSIONS, OFFERED_MECHANISMS, can_send_as, smtp_auth_switch

CONNECTOR_NAME = "Device relay"  # the inbound connector the relay advice creates

# -- the three options ---------------------------------------------------------------------------------
_STARTTLS_SETTINGS = (
    "Port: 587",
    "Security / encryption: STARTTLS (often labelled TLS; not SSL, not port 465)",
)


def _implicit_blocker(where: str, port: str) -> Blocker:
    return Blocker(
        "readiness.implicit-tls",
        f"The device started TLS at once (implicit TLS, port 465 style) on {where}: Microsoft 365 offers no "
        "implicit TLS, so no SMTP conversation took place.",
        (f"Port: {port}", "Security / encryption: STARTTLS, or none (not SSL / implicit TLS)"),
    )


def assess_smtp_auth(facts: DeviceFacts, tenant: Tenant) -> OptionVerdict:
    """SMTP AUTH client submission for this device: its last submission session and the tenant's switches."""
    session = facts.last("submission", "legacy")
    user = facts.user(session) or next(
        (facts.user(r) for r in reversed(facts.records) if facts.user(r)), None
    )
    settings = {
        "Server": SUBMISSION_SERVER,
        "Port": "587",
        "TLS": "STARTTLS, TLS 1.2 or later",
        "Authentication": "AUTH LOGIN (user name and password) or OAuth (XOAUTH2)",
        "User name": user or "<the mailbox address>",
        "Sender (From)": user or "<the same mailbox address>",
    }
    verdict = VerdictDraft("smtp-auth", settings)
    if session is None:
        if facts.implicit:
            verdict.block(
                _implicit_blocker(f"{facts.implicit[-1].endpoint}:{facts.implicit[-1].port}", "587")
            )
            return verdict.done()
        return verdict.done(untested=True)
    where = f"{session.endpoint}:{session.port}"
    if session.implicit_tls:
        verdict.block(_implicit_blocker(where, "587"))
        return verdict.done()
    legacy_ok = session.endpoint == LEGACY_SERVER and tenant.settings.allow_legacy_tls_clients
    if session.tls_version in LEGACY_TLS_VERSIONS and not legacy_ok:
        verdict.block(
            Blocker(
                "readiness.legacy-tls",
                f"The device negotiated {session.tls_version}: smtp.office365.com takes TLS 1.2 or later "
                f"(it answers {_c(R.TLS_LEGACY_REFUSED)}).",
                (
                    "Firmware: update it to one with TLS 1.2",
                    f"or Server: {LEGACY_SERVER} (the opt-in endpoint)",
                ),
                ("Set-TransportConfig -AllowLegacyTLSClients $true",),
            )
        )
        return verdict.done()
    if legacy_ok and session.tls_version in LEGACY_TLS_VERSIONS:
        verdict.settings["Server"] = LEGACY_SERVER
        verdict.settings["TLS"] = f"STARTTLS ({session.tls_version}, through the opt-in legacy endpoint)"
        verdict.notes.append("TLS 1.0/1.1 works only through smtp-legacy.office365.com: update the firmware.")
    if session.tls_failed:
        verdict.block(
            Blocker(
                "readiness.tls-handshake",
                f"The device asked for STARTTLS on {where} but the TLS handshake failed: it shares no TLS "
                "version with the server or does not trust the server's certificate.",
                ("Firmware: one with TLS 1.2", "In the lab only: import the lab CA certificate (lab-ca.pem)"),
            )
        )
        return verdict.done()
    if not session.tls_version:
        verdict.block(
            Blocker(
                "readiness.no-starttls",
                f"The device did not ask for STARTTLS on {where}: smtp.office365.com offers AUTH only after "
                f"STARTTLS and takes mail only over TLS ({_c(R.STARTTLS_REQUIRED)}).",
                _STARTTLS_SETTINGS,
            )
        )
        return verdict.done()
    mechanisms = [a.mechanism for a in session.auth]
    if not mechanisms:
        verdict.block(
            Blocker(
                "readiness.no-auth",
                "The device did not sign in (no AUTH): client submission needs a mailbox sign-in "
                f"({_c(R.not_authenticated(None))} at MAIL FROM).",
                (
                    "Authentication: on (SMTP AUTH), method LOGIN",
                    "User name: the mailbox address",
                    "Password: its password",
                ),
            )
        )
        return verdict.done()
    if not any(m in OFFERED_MECHANISMS for m in mechanisms):
        verdict.block(
            Blocker(
                "readiness.auth-mechanism",
                f"The device tried AUTH {', '.join(dict.fromkeys(mechanisms))}: Microsoft 365 offers "
                f"LOGIN and XOAUTH2 only ({_c(R.AUTH_UNRECOGNIZED)}).",
                ("Authentication method: LOGIN, or OAuth 2.0 (XOAUTH2); not PLAIN, not CRAM-MD5",),
            )
        )
        return verdict.done()
    basic = "XOAUTH2" not in mechanisms
    mailbox = tenant.find_mailbox(user) if user else None
    bad_password = any(
        a.reply is not None and a.reply.enhanced == R.AUTH_BAD_CREDENTIALS.enhanced for a in session.auth
    )
    if mailbox is None or not mailbox.can_sign_in or (bad_password and session.login is None):
        verdict.block(
            Blocker(
                "readiness.bad-credentials",
                f"The sign-in as {user or '(no user name)'} was refused ({_c(R.AUTH_BAD_CREDENTIALS)}"
                f"): the user name or password is wrong, or the mailbox cannot "
                "sign in (a shared mailbox).",
                (
                    "User name: the full mailbox address (user@domain)",
                    "Password: the mailbox's current password",
                ),
            )
        )
    else:
        _tenant_auth_blockers(verdict, tenant, mailbox.address, basic)
    if user is not None:
        for sender in facts.senders_at(session):
            if not can_send_as(tenant, user, sender):
                grant = (
                    (f"Add-RecipientPermission -Identity {sender} -Trustee {user} -AccessRights SendAs",)
                    if tenant.find_mailbox(sender)
                    else ()
                )
                verdict.block(
                    Blocker(
                        "readiness.send-as",
                        f"The device sends as {sender} but signs in as {user}, which has no SendAs on it "
                        f"({_c(R.send_as_denied(user, sender))} "
                        "SendAsDenied at the end of DATA).",
                        (f"Sender (From): {user}",),
                        grant,
                    )
                )
    return verdict.done(works=facts.delivered(session))


def _tenant_auth_blockers(verdict: VerdictDraft, tenant: Tenant, user: str, basic: bool) -> None:
    """The tenant's switches for this mailbox, as they are now (policy/submission.py's order)."""
    if basic and tenant.settings.security_defaults:
        verdict.block(
            Blocker(
                "readiness.security-defaults",
                f"Security defaults block basic authentication ({_c(R.AUTH_SECURITY_DEFAULTS)}).",
                ("Authentication: OAuth 2.0 (XOAUTH2), if the device offers it",),
                ("Update-MgPolicyIdentitySecurityDefaultEnforcementPolicy -IsEnabled $false",),
            )
        )
    if basic and tenant.settings.basic_auth_disabled:
        verdict.block(
            Blocker(
                "readiness.basic-auth-disabled",
                f"Basic authentication is disabled for SMTP AUTH ({_c(R.AUTH_BASIC_DISABLED)}"
                f"): only OAuth signs in.",
                ("Authentication: OAuth 2.0 (XOAUTH2)",),
            )
        )
    mailbox = tenant.find_mailbox(user)
    switch = smtp_auth_switch(tenant, mailbox) if mailbox is not None else None
    if switch is not None:
        verdict.block(
            Blocker(
                "readiness.smtp-auth-disabled",
                f"SMTP AUTH is off for {user} ({_c(switch.reply)}): {switch.explanation}.",
                (),
                (f"Set-CASMailbox -Identity {user} -SmtpClientAuthenticationDisabled $false",),
            )
        )


def assess_direct_send(facts: DeviceFacts, world: World, spf: Mapping[tuple[str, str], str]) -> OptionVerdict:
    """Direct send to the tenant MX: internal recipients, accepted-domain senders, RejectDirectSend, SPF."""
    tenant = world.tenant
    session = facts.last("mx")
    sender = next((s for s in facts.senders if tenant.is_accepted(domain_of(s))), None)
    domain = _default_domain(tenant)
    settings = {
        "Server": facts.mx_host,
        "Port": "25",
        "TLS": "STARTTLS if the device offers it (optional)",
        "Authentication": "None",
        "Sender (From)": sender or f"<any address in {domain}>",
    }
    verdict = VerdictDraft("direct-send", settings)
    if (session is not None and session.implicit_tls) or (session is None and facts.implicit):
        where = session or facts.implicit[-1]
        verdict.block(_implicit_blocker(f"{where.endpoint}:{where.port}", "25"))
    connected = [ip for ip in facts.client_ips if _connector_for(tenant, ip, facts.cert_names)]
    if facts.external and not connected:
        verdict.block(
            Blocker(
                "readiness.direct-send-external",
                f"The device sends to {', '.join(facts.external)}, outside your organisation: direct send "
                f"delivers to your own mailboxes only ({_c(R.RELAY_DENIED)}). "
                "Use SMTP AUTH or a connector for these.",
            )
        )
    foreign = [s for s in facts.senders if not tenant.is_accepted(domain_of(s))]
    if foreign:
        verdict.block(
            Blocker(
                "readiness.sender-domain",
                f"The sender {', '.join(foreign)} is not in an accepted domain: Microsoft 365 takes it as "
                "mail from outside, judged by that domain's SPF and DMARC.",
                (f"Sender (From): an address in {domain}",),
            )
        )
    if tenant.settings.reject_direct_send and not connected:
        verdict.block(
            Blocker(
                "readiness.reject-direct-send",
                f"RejectDirectSend is on ({_c(R.DIRECT_SEND_REJECTED)}).",
                (),
                (
                    "Set-OrganizationConfig -RejectDirectSend $false",
                    "or add an inbound connector (see relay)",
                ),
            )
        )
    for ip in facts.client_ips:
        for s in [sender] if sender else []:
            result = spf.get((ip, s))
            if result is not None and result != "pass":
                verdict.notes.append(
                    f"SPF of {s} from {ip} is {result}: anti-spam may file its mail in Junk Email. "
                    f"Publish: {_spf_line(domain_of(s), ip)}"
                )
    return verdict.done(untested=session is None and not verdict.blockers, works=facts.delivered(session))


def assess_relay(facts: DeviceFacts, world: World) -> OptionVerdict:
    """Relay through an inbound connector: does one recognise the device's address or certificate."""
    tenant = world.tenant
    session = facts.last("mx")
    domain = _default_domain(tenant)
    sender = next((s for s in facts.senders if tenant.is_accepted(domain_of(s))), None)
    settings = {
        "Server": facts.mx_host,
        "Port": "25",
        "TLS": "STARTTLS",
        "Authentication": "None: the connector recognises the device",
        "Sender (From)": sender or f"<any address in {domain}>",
    }
    verdict = VerdictDraft("relay", settings)
    if (session is not None and session.implicit_tls) or (session is None and facts.implicit):
        where = session or facts.implicit[-1]
        verdict.block(_implicit_blocker(f"{where.endpoint}:{where.port}", "25"))
    matched = [c for ip in facts.client_ips if (c := _connector_for(tenant, ip, facts.cert_names))]
    if matched:
        verdict.notes.append(f"Inbound connector {matched[0]!r} recognises this device.")
    else:
        verdict.block(_no_connector(facts, world, domain))
    if not sender and facts.senders:
        verdict.block(
            Blocker(
                "readiness.sender-domain",
                f"A connector relays senders in your accepted domains only; the device sends as "
                f"{', '.join(facts.senders)}.",
                (f"Sender (From): an address in {domain}",),
            )
        )
    return verdict.done(works=bool(matched) and facts.delivered(session))


def _no_connector(facts: DeviceFacts, world: World, domain: str) -> Blocker:
    """No inbound connector knows the device: one by certificate, by static IP, or neither possible."""
    new = f'New-InboundConnector -Name "{CONNECTOR_NAME}" -ConnectorType OnPremises -SenderDomains *'
    ours = [
        n
        for n in facts.cert_names
        if any(n == d.name or n.endswith("." + d.name) for d in world.tenant.accepted_domains)
    ]
    if ours:
        return Blocker(
            "readiness.no-connector",
            f"No inbound connector matches the certificate the device presents ({ours[0]}).",
            (),
            (f"{new} -TlsSenderCertificateName {ours[0]} -RequireTls $true",),
        )
    ip = facts.client_ips[-1] if facts.client_ips else ""
    site = next((s for s in world.network.all_sites() if str(s.public_ip) == ip), None)
    cert = f"relay.{domain}"
    by_cert = (
        (f"Client certificate: one for {cert} (CN or SAN in {domain}), presented after STARTTLS",),
        (f"{new} -TlsSenderCertificateName {cert} -RequireTls $true",),
    )
    shown = (
        f" (it presents {', '.join(facts.cert_names)}, not in an accepted domain)" if facts.cert_names else ""
    )
    if site is not None and (site.dynamic or site.shared):
        kind = "dynamic" if site.dynamic else "shared with others"
        return Blocker(
            "readiness.no-connector",
            f"No inbound connector knows the device, and its address {ip} ({site.name}) is {kind}, so it "
            f"cannot go in a connector: only a certificate connector can recognise it{shown}.",
            *by_cert,
        )
    return Blocker(
        "readiness.no-connector",
        f"No inbound connector recognises the device's address {ip} or a certificate{shown}. If {ip} is a "
        "static address of yours alone, a connector by IP recognises it.",
        (),
        (f"{new} -SenderIPAddresses {ip}", _spf_line(domain, ip)),
    )


# -- helpers -------------------------------------------------------------------------------------------
def _connector_for(tenant: Tenant, ip: str, cert_names: list[str]) -> str | None:
    facts = InboundFacts(
        client_ip=ip, cert_names=tuple(cert_names), tls_active=bool(cert_names), mail_from="", rcpt=""
    )
    connector = matching_onpremises_connector(tenant, facts)
    return connector.name if connector is not None else None


def _c(reply: R.Reply) -> str:
    """A catalogue reply's code and enhanced code, e.g. "535 5.7.3", quoted beside a blocker."""
    return f"{reply.code} {reply.enhanced}"


def _default_domain(tenant: Tenant) -> str:
    return next((d.name for d in tenant.accepted_domains if d.default), tenant.accepted_domains[0].name)


def _spf_line(domain: str, ip: str) -> str:
    # [MFD] SPF advice for direct send and relay (as advice.py writes it).
    return f'{domain}. 3600 IN TXT "v=spf1 ip4:{ip} {M365_SPF_INCLUDE} ~all"'
