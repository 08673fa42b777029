"""Fabrikam's own mail server: its recipients, and where it files what arrives (by DMARC)."""

from __future__ import annotations

import pytest

from mailflow_lab.policy import outside as O
from mailflow_lab.policy import replies as R
from mailflow_lab.world.model import OutsideOrganisation, World


@pytest.fixture
def fabrikam(world: World) -> OutsideOrganisation:
    org = world.outside_for("fabrikam.com")
    assert org is not None
    return org


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        pytest.param("pat@fabrikam.com", (250, "2.1.5", "outside.rcpt.ok", ("Ok",)), id="own-mailbox"),
        pytest.param(
            "Pat@Fabrikam.COM", (250, "2.1.5", "outside.rcpt.ok", ("Ok",)), id="own-mailbox-any-case"
        ),
        pytest.param(
            "nobody@fabrikam.com",
            (550, "5.1.1", "outside.unknown-user", ("User unknown in local recipient table",)),
            id="unknown-user",
        ),
        pytest.param(
            "alex@contoso.com",
            (554, "5.7.1", "outside.relay-denied", ("Relay access denied",)),
            id="tenant-domain-no-relay",
        ),
        pytest.param(
            "orders@northwind.example",
            (554, "5.7.1", "outside.relay-denied", ("Relay access denied",)),
            id="other-domain-no-relay",
        ),
        pytest.param(
            "pat@mail.fabrikam.com",
            (554, "5.7.1", "outside.relay-denied", ("Relay access denied",)),
            id="subdomain-is-another-domain",
        ),
    ],
)
def test_rcpt_to(fabrikam: OutsideOrganisation, address: str, expected: tuple) -> None:
    code, enhanced, rule, words = expected
    decision = O.rcpt_to(fabrikam, address)
    assert (decision.reply.code, decision.reply.enhanced, decision.rule) == (code, enhanced, rule)
    for word in words:
        assert word in decision.reply.text
    assert decision.explanation.strip()


@pytest.mark.parametrize(
    ("reply", "text"),
    [
        pytest.param(R.FABRIKAM_OK_RCPT, "250 2.1.5 Ok", id="rcpt-ok"),
        pytest.param(R.FABRIKAM_OK_SENDER, "250 2.1.0 Ok", id="sender-ok"),
        pytest.param(
            R.FABRIKAM_UNKNOWN_USER,
            "550 5.1.1 Recipient address rejected: User unknown in local recipient table",
            id="unknown-user",
        ),
        pytest.param(R.FABRIKAM_RELAY_DENIED, "554 5.7.1 Relay access denied", id="relay-denied"),
        pytest.param(R.fabrikam_queued("4ABC123"), "250 2.0.0 Ok: queued as 4ABC123", id="queued"),
        pytest.param(
            R.fabrikam_dmarc_reject("contoso.com"),
            "550 5.7.1 Rejected by DMARC policy for contoso.com",
            id="dmarc",
        ),
    ],
)
def test_fabrikam_replies_postfix_style(reply: R.Reply, text: str) -> None:
    assert str(reply) == text


QUEUED = (250, "2.0.0", ("Ok: queued as",))
REFUSED = (550, "5.7.1", ("Rejected by DMARC policy for contoso.com",))

FILING_ROWS = [
    # (spf, dkim, dmarc, disposition, folder, rule, reply)
    pytest.param(
        "fail", "none", "fail", "reject", None, "outside.dmarc-reject", REFUSED, id="dmarc-reject-refused"
    ),
    pytest.param(
        "softfail",
        "fail",
        "fail",
        "reject",
        None,
        "outside.dmarc-reject",
        REFUSED,
        id="dmarc-reject-dkim-fail",
    ),
    pytest.param(
        "fail",
        "none",
        "fail",
        "quarantine",
        "Junk Email",
        "outside.dmarc-quarantine",
        QUEUED,
        id="quarantine-junk",
    ),
    pytest.param(
        "fail",
        "none",
        "fail",
        "none",
        "Junk Email",
        "outside.spf-fail",
        QUEUED,
        id="dmarc-p-none-spf-fail-junk",
    ),
    pytest.param(
        "fail", "none", "none", "none", "Junk Email", "outside.spf-fail", QUEUED, id="no-dmarc-spf-fail"
    ),
    pytest.param(
        "softfail",
        "none",
        "none",
        "none",
        "Junk Email",
        "outside.spf-fail",
        QUEUED,
        id="no-dmarc-spf-softfail",
    ),
    pytest.param(
        "fail",
        "none",
        "fail",
        "quarantine",
        "Junk Email",
        "outside.dmarc-quarantine",
        QUEUED,
        id="pct-reject-unsampled",
    ),
    pytest.param("pass", "pass", "pass", "none", "Inbox", "outside.inbox", QUEUED, id="dmarc-pass-inbox"),
    pytest.param("fail", "pass", "pass", "none", "Inbox", "outside.inbox", QUEUED, id="dkim-saves-spf-fail"),
    pytest.param(
        "pass", "none", "none", "none", "Inbox", "outside.inbox", QUEUED, id="spf-pass-no-dmarc-inbox"
    ),
    pytest.param(
        "none", "none", "none", "none", "Inbox", "outside.inbox", QUEUED, id="nothing-published-inbox"
    ),
    pytest.param("neutral", "none", "none", "none", "Inbox", "outside.inbox", QUEUED, id="spf-neutral-inbox"),
]


@pytest.mark.parametrize(("spf", "dkim", "dmarc", "disposition", "folder", "rule", "reply"), FILING_ROWS)
def test_file_message(
    fabrikam: OutsideOrganisation,
    spf: str,
    dkim: str,
    dmarc: str,
    disposition: str,
    folder: str | None,
    rule: str,
    reply: tuple,
) -> None:
    filing = O.file_message(
        fabrikam, spf=spf, dkim=dkim, dmarc=dmarc, disposition=disposition, from_domain="contoso.com"
    )
    code, enhanced, words = reply
    assert filing.folder == folder
    decision = filing.decision
    assert (decision.reply.code, decision.reply.enhanced, decision.rule) == (code, enhanced, rule)
    for word in words:
        assert word in decision.reply.text
    assert decision.explanation.strip()
    assert "Fabrikam" in decision.explanation
