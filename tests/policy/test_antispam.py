"""EOP's verdict on anonymous mail (the EOP sheet's outcome table) and the headers it stamps."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from mailflow_lab.policy import antispam as A
from mailflow_lab.policy import replies as R

OFFICE_IP = "203.0.113.10"
HELO = "printer.contoso.local"

# Direct send from the office printer, SPF failing (the office IP is not in contoso.com's SPF record),
# no DKIM signature, contoso.com publishing p=reject.
SPOOF = A.AuthResults(
    client_ip=OFFICE_IP,
    helo=HELO,
    mail_from_domain="contoso.com",
    header_from_domain="contoso.com",
    spf="fail",
    dkim="none",
    dkim_domain=None,
    dkim_reason="message not signed",
    dmarc="fail",
    dmarc_policy="reject",
    dmarc_disposition="reject",
)


def results(**changes: object) -> A.AuthResults:
    return replace(SPOOF, **changes)  # type: ignore[arg-type]


NO_RECORD = {"dmarc": "none", "dmarc_policy": None, "dmarc_disposition": None}
SPF_PASS = {"spf": "pass", "dmarc": "pass", "dmarc_disposition": "none"}

# (action, trace status, compauth, reason, rule, SCL range, SFV, CAT)
REJECTED = ("reject", "Failed", "fail", "010", "antispam.dmarc-reject", range(5, 10), "SPM", "SPOOF")
QUARANTINED = (
    "quarantine",
    "Quarantined",
    "fail",
    "010",
    "antispam.dmarc-quarantine",
    range(5, 10),
    "SPM",
    "SPOOF",
)
JUNK = ("junk", "FilteredAsSpam", "fail", "601", "antispam.compauth-fail", range(5, 7), "SPM", "SPOOF")
INBOX = ("inbox", "Delivered", "pass", "100", "antispam.pass", range(-1, 2), "NSPM", "NONE")
CONNECTOR = ("inbox", "Delivered", "pass", "100", "antispam.connector", range(-1, 2), "NSPM", "NONE")

OUTCOMES = [
    # (auth results, via connector, expected)
    pytest.param(SPOOF, False, REJECTED, id="dmarc-reject-rejected"),
    pytest.param(
        results(dmarc_policy="quarantine", dmarc_disposition="quarantine"),
        False,
        QUARANTINED,
        id="dmarc-quarantine-quarantined",
    ),
    pytest.param(results(dmarc_policy="none", dmarc_disposition="none"), False, JUNK, id="dmarc-p-none-junk"),
    pytest.param(results(**NO_RECORD), False, JUNK, id="no-dmarc-record-junk"),
    pytest.param(
        results(dmarc="none", dmarc_policy=None, dmarc_disposition="none"),
        False,
        JUNK,
        id="no-dmarc-record-disposition-none-junk",
    ),
    pytest.param(results(spf="softfail", **NO_RECORD), False, JUNK, id="spf-softfail-no-record-junk"),
    pytest.param(results(**SPF_PASS), False, INBOX, id="spf-pass-dmarc-pass-inbox"),
    pytest.param(results(spf="pass", **NO_RECORD), False, INBOX, id="spf-pass-no-dmarc-record-inbox"),
    pytest.param(
        results(dkim="pass", dkim_domain="contoso.com", dmarc="pass", dmarc_disposition="none"),
        False,
        INBOX,
        id="dkim-aligned-dmarc-pass-inbox",
    ),
    pytest.param(
        results(spf="pass", dmarc="permerror", dmarc_policy=None, dmarc_disposition="none"),
        False,
        INBOX,
        id="spf-pass-dmarc-record-invalid-inbox",
    ),
    pytest.param(
        results(spf="pass", dmarc="temperror", dmarc_policy=None, dmarc_disposition="none"),
        False,
        INBOX,
        id="spf-pass-dmarc-dns-temperror-inbox",
    ),
    pytest.param(SPOOF, True, CONNECTOR, id="via-connector-inbox-despite-p-reject"),
    pytest.param(results(**NO_RECORD), True, CONNECTOR, id="via-connector-inbox-no-record"),
    # pct sampling (RFC 7489 §6.6.4): a failing message left out of the sample gets the next milder policy.
    pytest.param(
        results(dmarc_policy="reject", dmarc_disposition="reject"), False, REJECTED, id="pct-reject-sampled"
    ),
    pytest.param(
        results(dmarc_policy="reject", dmarc_disposition="quarantine"),
        False,
        QUARANTINED[:3] + (None,) + QUARANTINED[4:],
        id="pct-reject-not-sampled-quarantined",
    ),
    pytest.param(
        results(dmarc_policy="quarantine", dmarc_disposition="none"),
        False,
        JUNK[:3] + (None,) + JUNK[4:],
        id="pct-quarantine-not-sampled-junk",
    ),
]


@pytest.mark.parametrize(("auth", "via_connector", "expected"), OUTCOMES)
def test_evaluate(auth: A.AuthResults, via_connector: bool, expected: tuple) -> None:
    action, status, compauth, reason, rule, scl, sfv, cat = expected
    verdict = A.evaluate(auth, via_connector=via_connector)
    assert (verdict.action, verdict.status, verdict.compauth, verdict.rule) == (
        action,
        status,
        compauth,
        rule,
    )
    if reason is not None:
        assert verdict.reason == reason
    assert verdict.scl in scl
    assert (verdict.sfv, verdict.cat) == (sfv, cat)
    assert verdict.explanation.strip()
    if action == "reject":
        assert verdict.reply is not None
        assert (verdict.reply.code, verdict.reply.enhanced) == (550, "5.7.509")
        assert verdict.reply == R.dmarc_reject(auth.header_from_domain)
    else:
        assert verdict.reply is None


@pytest.mark.parametrize(
    ("from_domain", "sheet"),
    [
        pytest.param(
            "contoso.com",
            "550 5.7.509 Access denied, sending domain [CONTOSO.COM] does not pass DMARC verification "
            "and has a DMARC policy of reject.",
            id="contoso",
        ),
        pytest.param(
            "Contoso.onmicrosoft.com",
            "550 5.7.509 Access denied, sending domain [CONTOSO.ONMICROSOFT.COM] does not pass DMARC "
            "verification and has a DMARC policy of reject.",
            id="initial-domain",
        ),
    ],
)
def test_reject_reply_names_the_header_from_domain_upper_cased(from_domain: str, sheet: str) -> None:
    verdict = A.evaluate(results(header_from_domain=from_domain))
    assert str(verdict.reply) == sheet


@pytest.mark.parametrize(
    "auth",
    [pytest.param(row.values[0], id=row.id) for row in OUTCOMES],
)
@pytest.mark.parametrize("via_connector", [False, True], ids=["anonymous", "connector"])
def test_scl_is_never_2_to_4(auth: A.AuthResults, via_connector: bool) -> None:
    # EOP sheet: SCL -1 skipped; 0-1 not spam; 5-6 spam; 7-9 high confidence. Never 2-4.
    verdict = A.evaluate(auth, via_connector=via_connector)
    assert verdict.scl in (-1, 0, 1, 5, 6, 7, 8, 9)
    assert (verdict.sfv == "NSPM") == (verdict.scl <= 1)


# -- the stamped headers -------------------------------------------------------------------------------


def stamped(
    auth: A.AuthResults, *, via_connector: bool = False, authenticated: bool = False
) -> dict[str, str]:
    verdict = A.evaluate(auth, via_connector=via_connector)
    headers = A.headers(auth, verdict, authenticated=authenticated)
    names = [name for name, _ in headers]
    assert len(names) == len(set(names)), names
    return dict(headers)


def test_headers_are_the_sheet_example() -> None:
    """The EOP sheet's example, character for character (helo substituted)."""
    auth = results(dmarc_policy="none", dmarc_disposition="none")  # p=none: compauth fail reason=601
    sheet = f"""\
Authentication-Results: spf=fail (sender IP is 203.0.113.10) smtp.mailfrom=contoso.com; dkim=none (message not signed) header.d=none;dmarc=fail action=none header.from=contoso.com;compauth=fail reason=601
Received-SPF: Fail (protection.outlook.com: domain of contoso.com does not designate 203.0.113.10 as permitted sender) receiver=protection.outlook.com; client-ip=203.0.113.10; helo={HELO};
X-MS-Exchange-Organization-AuthAs: Anonymous
X-Forefront-Antispam-Report: CIP:203.0.113.10;CTRY:;LANG:en;SCL:5;SRV:;IPV:NLI;SFV:SPM;H:{HELO};PTR:;CAT:SPOOF;SFTY:9.11;DIR:INB;"""  # noqa: E501
    headers = stamped(auth)
    for line in sheet.splitlines():
        name, _, value = line.partition(": ")
        assert headers[name] == value, name


@pytest.mark.parametrize(
    ("auth", "fragment"),
    [
        pytest.param(
            results(spf="pass", **NO_RECORD), "spf=pass (sender IP is 203.0.113.10) ", id="spf-pass"
        ),
        pytest.param(SPOOF, "spf=fail (sender IP is 203.0.113.10) smtp.mailfrom=contoso.com;", id="spf-fail"),
        pytest.param(
            results(spf="softfail"),
            "spf=softfail (sender IP is 203.0.113.10) smtp.mailfrom=",
            id="spf-softfail",
        ),
        pytest.param(
            results(spf="none", **NO_RECORD),
            "spf=none (sender IP is 203.0.113.10) smtp.mailfrom=contoso.com;",
            id="spf-none",
        ),
        pytest.param(
            results(spf="temperror"),
            "spf=temperror (sender IP is 203.0.113.10) smtp.mailfrom=contoso.com;",
            id="spf-temperror",
        ),
        pytest.param(
            results(spf="permerror"),
            "spf=permerror (sender IP is 203.0.113.10) smtp.mailfrom=contoso.com;",
            id="spf-permerror",
        ),
        pytest.param(
            results(dkim="pass", dkim_domain="contoso.com", dmarc="pass", dmarc_disposition="none"),
            "dkim=pass (signature was verified) header.d=contoso.com;",
            id="dkim-pass",
        ),
        pytest.param(SPOOF, "dkim=none (message not signed) header.d=none;", id="dkim-none"),
        pytest.param(
            results(dkim="fail", dkim_domain="contoso.com", dkim_reason="body hash did not verify"),
            "dkim=fail (body hash did not verify) header.d=contoso.com;",
            id="dkim-fail-body-hash",
        ),
        pytest.param(results(**SPF_PASS), "dmarc=pass action=none header.from=contoso.com;", id="dmarc-pass"),
        pytest.param(
            results(dmarc_policy="quarantine", dmarc_disposition="quarantine"),
            "dmarc=fail action=quarantine header.from=contoso.com;",
            id="dmarc-fail-quarantine",
        ),
        pytest.param(
            results(dmarc_policy="none", dmarc_disposition="none"),
            "dmarc=fail action=none header.from=contoso.com;",
            id="dmarc-fail-p-none",
        ),
        pytest.param(results(**SPF_PASS), ";compauth=pass reason=100", id="compauth-pass-100"),
        pytest.param(
            results(dmarc_policy="quarantine", dmarc_disposition="quarantine"),
            ";compauth=fail reason=010",
            id="compauth-fail-010",
        ),
        pytest.param(results(**NO_RECORD), ";compauth=fail reason=601", id="compauth-fail-601"),
    ],
)
def test_authentication_results(auth: A.AuthResults, fragment: str) -> None:
    value = stamped(auth)["Authentication-Results"]
    assert fragment in value, value
    # Real headers put no space before compauth (EOP sheet).
    assert "; compauth=" not in value and ";compauth=" in value


AUTH_RESULTS = re.compile(
    r"spf=(?P<spf>[a-z]+) \(sender IP is (?P<ip>[0-9.]+)\) smtp\.mailfrom=(?P<mailfrom>[^;\s]+); "
    r"dkim=(?P<dkim>[a-z]+) \([^)]*\) header\.d=(?P<d>[^;\s]+);"
    r"dmarc=(?P<dmarc>[a-z]+) action=(?P<action>[a-z]+) header\.from=(?P<from>[^;\s]+);"
    r"compauth=(?P<compauth>pass|fail|softpass|none) reason=(?P<reason>\d{3})"
)
RECEIVED_SPF = re.compile(
    r"(?P<result>Pass|Fail|Softfail|SoftFail|Neutral|None|TempError|PermError) \(protection\.outlook\.com: "
    r"domain of (?P<domain>\S+) (?:designates|does not designate) (?P<ip>[0-9.]+) as permitted sender\) "
    r"receiver=protection\.outlook\.com; client-ip=(?P<cip>[0-9.]+); helo=(?P<helo>[^;\s]+);"
)
ANTISPAM_REPORT = re.compile(
    r"CIP:(?P<cip>[0-9.]+);CTRY:;LANG:en;SCL:(?P<scl>-1|[0-9]);SRV:;IPV:NLI;SFV:(?P<sfv>NSPM|SPM|SKN|SKA|SKI);"
    r"H:(?P<h>[^;]+);PTR:;CAT:(?P<cat>[A-Z]+);SFTY:(?P<sfty>[0-9.]*);DIR:(?P<dir>INB|OUT|INT);"
)

SYNTAX_ROWS = [
    pytest.param(SPOOF, False, id="reject"),
    pytest.param(results(dmarc_policy="quarantine", dmarc_disposition="quarantine"), False, id="quarantine"),
    pytest.param(results(**NO_RECORD), False, id="junk"),
    pytest.param(results(**SPF_PASS), False, id="inbox"),
    pytest.param(results(spf="pass", **NO_RECORD), False, id="inbox-no-record"),
    pytest.param(SPOOF, True, id="via-connector"),
]


@pytest.mark.parametrize(("auth", "via_connector"), SYNTAX_ROWS)
def test_header_syntax(auth: A.AuthResults, via_connector: bool) -> None:
    verdict = A.evaluate(auth, via_connector=via_connector)
    headers = stamped(auth, via_connector=via_connector)

    ar = AUTH_RESULTS.fullmatch(headers["Authentication-Results"])
    assert ar, headers["Authentication-Results"]
    assert (ar["spf"], ar["ip"], ar["mailfrom"], ar["from"]) == (
        auth.spf,
        OFFICE_IP,
        "contoso.com",
        "contoso.com",
    )
    assert (ar["dmarc"], ar["compauth"], ar["reason"]) == (auth.dmarc, verdict.compauth, verdict.reason)

    spf = RECEIVED_SPF.fullmatch(headers["Received-SPF"])
    assert spf, headers["Received-SPF"]
    assert (spf["result"].lower(), spf["ip"], spf["cip"], spf["helo"]) == (
        auth.spf,
        OFFICE_IP,
        OFFICE_IP,
        HELO,
    )
    assert ("does not designate" in headers["Received-SPF"]) == (auth.spf != "pass")

    assert headers["X-MS-Exchange-Organization-AuthAs"] == "Anonymous"

    report = ANTISPAM_REPORT.fullmatch(headers["X-Forefront-Antispam-Report"])
    assert report, headers["X-Forefront-Antispam-Report"]
    assert (report["cip"], report["h"]) == (OFFICE_IP, HELO)
    assert (int(report["scl"]), report["sfv"], report["cat"]) == (verdict.scl, verdict.sfv, verdict.cat)
    assert headers["X-MS-Exchange-Organization-SCL"] == str(verdict.scl)
    if not via_connector:
        assert report["dir"] == "INB"


@pytest.mark.parametrize(
    ("authenticated", "auth_as"),
    [
        pytest.param(True, "Internal", id="authenticated-submission-internal"),
        pytest.param(False, "Anonymous", id="anonymous"),
    ],
)
def test_auth_as(authenticated: bool, auth_as: str) -> None:
    assert (
        stamped(results(**SPF_PASS), authenticated=authenticated)["X-MS-Exchange-Organization-AuthAs"]
        == auth_as
    )


def test_connector_mail_is_not_spam() -> None:
    """EOP sheet [observed], relayed through an OnPremises connector: SCL:1;SFV:NSPM."""
    report = stamped(SPOOF, via_connector=True)["X-Forefront-Antispam-Report"]
    assert "SCL:1;" in report and "SFV:NSPM;" in report


def test_connector_relay_headers_as_observed() -> None:
    """EOP sheet [observed]: relayed connector mail shows DIR:OUT and the HybridOnPrem entity header."""
    headers = dict(A.connector_headers("203.0.113.10", "printer.local", internal_only=False))
    assert "DIR:OUT;" in headers["X-Forefront-Antispam-Report"]
    assert "SCL:1;" in headers["X-Forefront-Antispam-Report"]
    assert "SFV:NSPM;" in headers["X-Forefront-Antispam-Report"]
    assert headers.get("X-MS-Exchange-CrossTenant-FromEntityHeader") == "HybridOnPrem"
    internal = dict(A.connector_headers("203.0.113.10", "printer.local", internal_only=True))
    assert "DIR:INT;" in internal["X-Forefront-Antispam-Report"]
