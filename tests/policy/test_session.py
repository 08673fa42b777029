"""The pure session rules (policy/session.py): addresses, limits and line ends, as tables."""

from __future__ import annotations

import pytest

from mailflow_lab.policy import replies as R
from mailflow_lab.policy import session as P
from mailflow_lab.policy.session import SessionLimits


@pytest.mark.parametrize(
    "address",
    [
        "alex@contoso.com",
        "ALEX@CONTOSO.COM",
        "pat%fabrikam.com@contoso.com",  # odd, but well formed: routed (and refused) by its domain
        '"pat@fabrikam.com"@contoso.com',
        '"john smith"@contoso.com',
        "fabrikam.com!pat@contoso.com",
        "pat@[192.0.2.25]",
        "pat@[IPv6:2001:db8::25]",
        "user@fäbrikam.com",  # SMTPUTF8
        "x" * 64 + "@contoso.com",
        "a@" + ".".join(["b" * 63] * 3) + ".com",
    ],
)
def test_well_formed_addresses_pass(address: str) -> None:
    assert P.address_problem(address, sender=False) is None
    assert P.address_problem(address, sender=True) is None


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("", "not local-part@domain"),
        ("postmaster", "not local-part@domain"),
        ("fabrikam.com!pat", "not local-part@domain"),
        ("@contoso.com", "not local-part@domain"),
        ("alex@", "not local-part@domain"),
        ("x" * 65 + "@contoso.com", "longer than 64"),
        ("a@" + "b" * 64 + ".com", "not a DNS name"),
        ("a@b..com", "not a DNS name"),
        ("a@" + "b." * 130 + "com", "longer than 255"),
        ("a@[192.0.2.300]", "not an IP address"),
        ("a@[IPv6:nope]", "not an IP address"),
        ("a@[192.0.2.1", "not an IP address"),
        ("al\x00ex@contoso.com", "control characters"),
        ("alex@contoso.com\r\nRCPT TO:<x@y>", "control characters"),
        ("alex@contoso\x7f.com", "control characters"),
        ("a\udcff@contoso.com", "not UTF-8"),
        ("alex@contoso .com", "spaces"),
        ("<>", "not local-part@domain"),  # a null path is no recipient
    ],
)
def test_malformed_addresses_are_refused(address: str, why: str) -> None:
    recipient = P.address_problem(address, sender=False)
    assert recipient is not None and why in recipient.explanation
    assert recipient.reply == R.INVALID_ADDRESS == R.Reply(501, "5.1.3", "Invalid address")
    if address != "<>":
        sender = P.address_problem(address, sender=True)
        assert sender is not None and sender.reply == R.INVALID_SENDER_ADDRESS
    else:
        assert P.address_problem(address, sender=True) is None  # the null reverse-path


def test_connection_limits() -> None:
    limits = SessionLimits(max_connections_per_address=20, max_connections=100)
    assert P.connection_refusal(19, 50, limits) is None
    refused = P.connection_refusal(20, 50, limits)
    assert refused is not None and refused.reply == R.TOO_MANY_CONNECTIONS_FROM_ADDRESS
    refused = P.connection_refusal(0, 100, limits)
    assert refused is not None and refused.reply == R.TOO_MANY_CONNECTIONS


def test_command_and_error_limits() -> None:
    limits = SessionLimits(max_commands=10)
    assert P.command_refusal(10, limits) is None
    assert P.command_refusal(11, limits).reply == R.TOO_MANY_COMMANDS  # type: ignore[union-attr]
    assert P.protocol_errors_refusal(P.MAX_PROTOCOL_ERRORS - 1) is None
    assert P.protocol_errors_refusal(P.MAX_PROTOCOL_ERRORS).reply == R.TOO_MANY_ERRORS  # type: ignore[union-attr]
    assert P.idle_timeout(SessionLimits(idle_timeout_s=1.5)).reply == R.IDLE_TIMEOUT


@pytest.mark.parametrize(
    ("line", "counts"),
    [
        ("500 5.3.3 Unrecognized command", True),
        ("501 5.5.4 Invalid arguments", True),
        ("502 5.3.3 Command not implemented", True),
        ("503 5.5.1 Bad sequence of commands", True),
        ("501 5.1.3 Invalid address", True),
        ("504 5.7.4 Unrecognized authentication type", False),  # a policy answer, not a protocol error
        ("535 5.7.3 Authentication unsuccessful", False),
        ("550 5.7.64 TenantAttribution; Relay Access Denied", False),
        ("250-SIZE 157286400", False),
        ("", False),
    ],
)
def test_what_counts_as_a_protocol_error(line: str, counts: bool) -> None:
    assert P.is_protocol_error(line) is counts


@pytest.mark.parametrize(
    ("content", "bare"),
    [
        (b"Subject: x\r\n\r\nbody\r\n", False),
        (b"Subject: x\r\n\r\nbody\n", True),
        (b"Subject: x\n\nbody", True),
        (b"a\r\n.\nb\r\n", True),
        (b"a\r.\rb\r\n", False),  # bare CRs are not bare line feeds
        (b"", False),
    ],
)
def test_bare_line_feeds(content: bytes, bare: bool) -> None:
    assert P.has_bare_linefeeds(content) is bare
    refusal = P.relay_refusal(content)
    assert (refusal is not None) is bare
    if refusal is not None:
        assert str(refusal.reply) == (
            "550 5.6.11 SMTPSEND.BareLinefeedsAreIllegal; message contains bare linefeeds, which cannot be "
            "sent via DATA and receiving system does not support BDAT"
        )


@pytest.mark.parametrize(
    ("name", "fqdn", "extended", "refused"),
    [
        ("printer.contoso.local", R.SUBMISSION_FQDN, True, False),
        ("printer01", R.SUBMISSION_FQDN, True, False),  # one label: taken (lab choice)
        ("[192.0.2.1]", R.MX_FQDN, True, False),
        ("[IPv6:2001:db8::1]", R.MX_FQDN, True, False),
        ("xn--bcher-kva.example", R.MX_FQDN, True, False),
        ("printer.contoso.local.", R.SUBMISSION_FQDN, True, True),  # socket.getfqdn()'s trailing dot
        ("scan_01.contoso.local", R.SUBMISSION_FQDN, True, True),
        ("two words", R.MX_FQDN, True, True),
        ("-bad.example", R.MX_FQDN, True, True),
        ("[192.0.2.999]", R.MX_FQDN, True, True),
        ("[not an address]", R.MX_FQDN, True, True),
        ("a" * 64 + ".example", R.MX_FQDN, True, True),  # a label over 63 octets
        ("", R.SUBMISSION_FQDN, True, True),
        ("", R.SUBMISSION_FQDN, False, True),
        ("", R.MX_FQDN, True, True),  # a bare EHLO, even on the MX
        ("", R.MX_FQDN, False, False),  # a bare HELO on the MX (CyberNinjas/pam_aad#34)
        ("relay.example.", R.FABRIKAM_FQDN, True, False),  # Postfix takes any name
        ("", R.FABRIKAM_FQDN, True, False),  # ... and answers a bare EHLO with its own syntax error
    ],
)
def test_helo_names(name: str, fqdn: str, extended: bool, refused: bool) -> None:
    found = P.helo_problem(name, fqdn=fqdn, extended=extended)
    assert (found is not None) == refused
    if found is not None:
        assert found.reply == R.INVALID_DOMAIN_NAME and found.rule == "protocol.invalid-helo"
