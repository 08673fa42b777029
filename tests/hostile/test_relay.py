"""Open-relay tricks against every endpoint, signed in or not, with and without a connector.

Whatever a trick gets at RCPT TO, a message may only ever land in the mailbox its address names exactly
(and, for a signed-in sender, in its own Sent Items or as a bounce in its own Inbox). Every Maildir on
disk (known mailboxes or not, and the quarantine) and every trace record is checked after each trick.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hostile_kit import FABRIKAM, MX, SUBMISSION, Wire, message, stored_messages
from hostile_kit import signed_in as submission_signed_in

from mailflow_lab import Lab

RELAY_DENIED = "550 5.7.64"
NOT_FOUND = "550 5.4.1"  # Directory-Based Edge Blocking: contoso.com is an Authoritative domain
INVALID = "501 5.1.3"
OK = "250 2.1.5"
FAB_RELAY_DENIED = "554 5.7.1"
FAB_UNKNOWN = "550 5.1.1"

# The trick as written after RCPT TO:, and the mailbox its address (RFC 5321 §4.1.2) names, if any.
# RFC 5321 §C and §4.1.1.3: a source route is ignored; the mailbox is the part after the colon.
TRICKS: dict[str, tuple[str, str | None]] = {
    "plain-external": ("<pat@fabrikam.com>", "pat@fabrikam.com"),
    "percent-hack": ("<pat%fabrikam.com@contoso.com>", None),
    "percent-hack-at-fabrikam": ("<alex%contoso.com@fabrikam.com>", None),
    "quoted-local-part": ('<"pat@fabrikam.com"@contoso.com>', None),
    "quoted-percent": ('<"pat%fabrikam.com"@contoso.com>', None),
    "source-route-out": ("<@contoso.com:pat@fabrikam.com>", "pat@fabrikam.com"),
    "source-route-two-hops": ("<@contoso.com,@fabrikam.com:pat@fabrikam.com>", "pat@fabrikam.com"),
    "source-route-in": ("<@fabrikam.com:alex@contoso.com>", "alex@contoso.com"),
    "bang-path": ("<fabrikam.com!pat@contoso.com>", None),
    "bang-path-bare": ("<fabrikam.com!pat>", None),
    "double-at": ("<pat@fabrikam.com@contoso.com>", None),
    "ip-literal-fabrikam": ("<pat@[192.0.2.25]>", None),
    "ip-literal-office": ("<alex@[203.0.113.10]>", None),
    "ip-literal-loopback": ("<alex@[127.0.0.1]>", None),
    "ipv6-literal": ("<pat@[IPv6:2001:db8::25]>", None),
    "trailing-dot": ("<pat@fabrikam.com.>", None),
    "upper-case": ("<PAT@FABRIKAM.COM>", "pat@fabrikam.com"),
    "unknown-domain": ("<pat@victim.example>", None),
    "internal": ("<alex@contoso.com>", "alex@contoso.com"),
}

# What each context answers at RCPT TO for each trick (None: the trick never reaches RCPT TO).
EXPECTED_RCPT: dict[str, dict[str, str]] = {
    # SMTP AUTH submission relays for a signed-in mailbox ([MFD]); malformed addresses are refused.
    "submission-signed-in": {
        "bang-path-bare": INVALID,
        "double-at": INVALID,
        "trailing-dot": INVALID,
        "*": OK,
    },
    # The MX without a connector: direct send reaches the tenant's own mailboxes only ([MFD]).
    "mx-anonymous": {
        "percent-hack": NOT_FOUND,
        "quoted-local-part": NOT_FOUND,
        "quoted-percent": NOT_FOUND,
        "bang-path": NOT_FOUND,
        "bang-path-bare": INVALID,
        "double-at": INVALID,
        "trailing-dot": INVALID,
        "source-route-in": OK,
        "internal": OK,
        "*": RELAY_DENIED,
    },
    # The MX with an OnPremises connector (by IP or by certificate): relay to anywhere ([MFD]).
    "mx-connector": {
        "percent-hack": NOT_FOUND,
        "quoted-local-part": NOT_FOUND,
        "quoted-percent": NOT_FOUND,
        "bang-path": NOT_FOUND,
        "bang-path-bare": INVALID,
        "double-at": INVALID,
        "trailing-dot": INVALID,
        "*": OK,
    },
    # Fabrikam's own server relays for nobody.
    "fabrikam": {
        "plain-external": OK,
        "source-route-out": OK,
        "source-route-two-hops": OK,
        "upper-case": OK,
        "percent-hack-at-fabrikam": FAB_UNKNOWN,
        "bang-path-bare": INVALID,
        "double-at": INVALID,
        "trailing-dot": INVALID,
        "*": FAB_RELAY_DENIED,
    },
}


def expected(context: str, trick: str) -> str:
    table = EXPECTED_RCPT[context]
    return table.get(trick, table["*"])


def allowed_home(context: str, trick: str) -> str | None:
    """The only mailbox (besides the sender's own) a message for this trick may reach in this context."""
    home = TRICKS[trick][1]
    if home is None or not expected(context, trick).startswith("250"):
        return None
    return home


Opener = Callable[[Lab], Wire]


def mx_plain(lab: Lab) -> Wire:
    wire = Wire(lab.endpoint(MX, 25))
    wire.ehlo()
    return wire


def mx_with_certificate(lab: Lab) -> Wire:
    wire = Wire(lab.endpoint(MX, 25))
    wire.ehlo()
    wire.starttls(lab, MX, cert_domain="contoso.com")
    wire.ehlo()
    return wire


def fabrikam(lab: Lab) -> Wire:
    wire = Wire(lab.endpoint(FABRIKAM, 25))
    wire.ehlo()
    return wire


CONTEXTS: dict[str, tuple[str, Opener, str, str | None]] = {
    # id: (expectations, opener, sender, connector cmdlet)
    "submission-signed-in": ("submission-signed-in", submission_signed_in, "scanner@contoso.com", None),
    "mx-anonymous": ("mx-anonymous", mx_plain, "printer@contoso.com", None),
    "mx-connector-ip": (
        "mx-connector",
        mx_plain,
        "printer@contoso.com",
        "New-InboundConnector -Name 'Office printers' -ConnectorType OnPremises -SenderDomains * "
        "-SenderIPAddresses 203.0.113.10",
    ),
    "mx-connector-certificate": (
        "mx-connector",
        mx_with_certificate,
        "printer@contoso.com",
        "New-InboundConnector -Name 'Relay by certificate' -ConnectorType OnPremises -SenderDomains * "
        "-TlsSenderCertificateName contoso.com",
    ),
    "fabrikam": ("fabrikam", fabrikam, "partner@contoso.com", None),
}


def check_homes(lab: Lab, sent: dict[str, tuple[str, str | None]], sender: str) -> None:
    """Every stored copy of each trick's message is in its allowed mailbox or the sender's own."""
    own = {sender.lower()}
    for stored in stored_messages(lab):
        trick = stored.subject.partition(":")[2]
        if trick not in sent:
            continue
        home = sent[trick][1]
        assert stored.mailbox in own | ({home} if home else set()), (trick, stored.mailbox, stored.folder)
        if stored.mailbox in own:
            assert stored.folder in ("Sent Items", "Inbox"), stored  # its copy, or a bounce
    for record in lab.message_trace():
        trick = record.subject.partition(":")[2]
        if trick in sent and record.status == "Delivered":
            assert record.recipient_address.lower() == sent[trick][1], (trick, record.to_dict())


@pytest.mark.parametrize("context", list(CONTEXTS))
def test_relay_tricks_reach_only_the_mailbox_they_name(lab: Lab, context: str) -> None:
    expectations, opener, sender, connector = CONTEXTS[context]
    if connector:
        assert lab.powershell(connector).error is None
    sent: dict[str, tuple[str, str | None]] = {}
    for trick, (rcpt, _) in TRICKS.items():
        with opener(lab) as wire:
            assert wire.cmd(f"MAIL FROM:<{sender}>").startswith("250 2.1.0")
            reply = wire.cmd(f"RCPT TO:{rcpt}")
            assert reply.startswith(expected(expectations, trick)), (trick, reply)
            if reply.startswith("250"):
                final = wire.data(message(f"{context}:{trick}", sender=sender))
                assert final.startswith("250 "), (trick, final)
            sent[trick] = (rcpt, allowed_home(expectations, trick))
            wire.cmd("QUIT")
    check_homes(lab, sent, sender)
    # Nothing reached a mailbox directory the world does not know (a stray, made-up address).
    known = {m.address for m in lab.world.tenant.mailboxes} | {
        a for org in lab.world.outside for a in org.mailboxes
    }
    assert {s.mailbox for s in stored_messages(lab)} <= known | {"quarantine"}
    # What the connector-less MX and Fabrikam refused never got further than RCPT TO.
    if expectations in ("mx-anonymous", "fabrikam"):
        outside = {a for org in lab.world.outside for a in org.mailboxes}
        tenant = {m.address for m in lab.world.tenant.mailboxes}
        landed = {s.mailbox for s in stored_messages(lab)}
        assert not landed & (outside if expectations == "mx-anonymous" else tenant), landed


@pytest.mark.parametrize(
    ("sender", "reply"),
    [
        pytest.param("<>", RELAY_DENIED, id="null-sender"),
        pytest.param("<attacker@victim.example>", RELAY_DENIED, id="outside-sender"),
        pytest.param("<x@contoso.com.victim.example>", RELAY_DENIED, id="accepted-domain-as-prefix"),
        pytest.param("<x@victim.example%contoso.com>", RELAY_DENIED, id="percent-in-domain"),
        pytest.param("<x@[203.0.113.10]>", RELAY_DENIED, id="ip-literal-sender"),
        pytest.param("<@contoso.com:x@victim.example>", RELAY_DENIED, id="source-routed-sender"),
        pytest.param("<x@contoso.com@victim.example>", "501 5.1.7", id="double-at-sender"),
        pytest.param("<x@contoso.com>", OK, id="accepted-sender"),
    ],
)
def test_a_connector_relays_only_for_the_tenants_own_senders(lab: Lab, sender: str, reply: str) -> None:
    """An OnPremises connector relays mail from the organisation's domains only ([MFD])."""
    cmdlet = (
        "New-InboundConnector -Name 'Office printers' -ConnectorType OnPremises -SenderDomains * "
        "-SenderIPAddresses 203.0.113.10"
    )
    assert lab.powershell(cmdlet).error is None
    with mx_plain(lab) as wire:
        mail = wire.cmd(f"MAIL FROM:{sender}")
        if not mail.startswith("250"):
            assert mail.startswith(reply), mail
            return
        answer = wire.cmd("RCPT TO:<pat@fabrikam.com>")
        assert answer.startswith(reply), answer
        if answer.startswith("250"):
            assert wire.data(message("relayed")).startswith("250 2.6.0")
    landed = {s.mailbox for s in stored_messages(lab)}
    assert landed == ({"pat@fabrikam.com"} if reply == OK else set())


@pytest.mark.parametrize(
    "opener", [submission_signed_in, mx_plain, fabrikam], ids=["submission", "mx", "fab"]
)
def test_null_sender_is_accepted_and_never_bounced(lab: Lab, opener: Opener) -> None:
    """MAIL FROM:<> (RFC 5321 §4.5.5) is taken, and a failure for it makes no bounce to anyone."""
    to = "pat@fabrikam.com" if opener is fabrikam else "alex@contoso.com"
    with opener(lab) as wire:
        assert wire.cmd("MAIL FROM:<>").startswith("250 2.1.0")
        assert wire.cmd(f"RCPT TO:<{to}>").startswith(OK)
        sender = "scanner@contoso.com" if opener is submission_signed_in else "mailer-daemon@contoso.com"
        assert wire.data(message("bounce", sender=sender)).startswith("250 ")
        if opener is submission_signed_in:
            # Signed in: MAIL FROM:<> relaying out to a domain with no lab server fails without an NDR.
            assert wire.cmd("MAIL FROM:<>").startswith("250 2.1.0")
            assert wire.cmd("RCPT TO:<someone@victim.example>").startswith(OK)
            assert wire.data(message("nowhere", sender=sender)).startswith("250 ")
    homes = sorted((s.mailbox, s.folder, s.subject) for s in stored_messages(lab))
    if opener is submission_signed_in:  # delivered, a copy of each in Sent Items, and no NDR for "nowhere"
        assert homes == [
            ("alex@contoso.com", "Inbox", "bounce"),
            ("scanner@contoso.com", "Sent Items", "bounce"),
            ("scanner@contoso.com", "Sent Items", "nowhere"),
        ]
    elif opener is mx_plain:  # From: contoso.com sent from outside: composite authentication fails
        assert homes == [("alex@contoso.com", "Junk Email", "bounce")]
    else:  # Fabrikam's own server keeps it for its own mailbox
        assert homes == [("pat@fabrikam.com", "Inbox", "bounce")]
    assert not [s for s in stored_messages(lab) if s.subject.startswith("Undeliverable")]
    senders = {r.sender_address for r in lab.message_trace()}
    assert senders <= {""}, senders


def test_without_signing_in_submission_takes_no_recipient_at_all(lab: Lab) -> None:
    with Wire(lab.endpoint(SUBMISSION, 587)) as wire:
        wire.ehlo()
        wire.starttls(lab, SUBMISSION)
        wire.ehlo()
        assert wire.cmd("MAIL FROM:<scanner@contoso.com>").startswith("530 5.7.57")
        for rcpt, _ in TRICKS.values():
            assert wire.cmd(f"RCPT TO:{rcpt}").startswith("503 5.5.2 Need mail command")
            if wire.closed(0.05):  # five protocol errors end the session (MaxProtocolErrors)
                break
    with Wire(lab.endpoint(SUBMISSION, 587)) as wire:
        wire.ehlo()
        assert wire.cmd("MAIL FROM:<scanner@contoso.com>").startswith("451 5.7.3")  # no TLS yet
    assert stored_messages(lab) == [] and lab.message_trace() == []
