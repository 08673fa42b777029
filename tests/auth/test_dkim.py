"""DKIM signing and verification against keys published in a lab zone, behind Microsoft 365 CNAMEs."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from mailflow_lab.auth.dkim import (
    DEFAULT_SIGNED_HEADERS,
    DkimVerdict,
    public_key_record,
    sign_message,
    verify_all,
    verify_message,
)
from mailflow_lab.labdns.resolver import LabDNS
from mailflow_lab.labdns.zones import split_txt, txt_zone_value

KEY_NAME = "selector1._domainkey.contoso.com"
KEY_TARGET = "selector1-contoso-com._domainkey.contoso.onmicrosoft.com"

MESSAGE = (
    b"From: Scanner <scanner@contoso.com>\r\n"
    b"To: alex@fabrikam.com\r\n"
    b"Subject: Scanned document\r\n"
    b"Date: Mon, 01 Jun 2026 09:00:00 +0000\r\n"
    b"Message-ID: <scan-0001@contoso.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Your scan is attached.\r\n"
)


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, fmt: serialization.PrivateFormat):
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())


@pytest.fixture(scope="module")
def key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _pem(key, serialization.PrivateFormat.PKCS8)


@pytest.fixture(scope="module")
def other_key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _pem(key, serialization.PrivateFormat.TraditionalOpenSSL)


def _zone(key_record: str) -> str:
    return f"""
. IN SOA ns1.lab. hostmaster.lab. 1 3600 600 1209600 300
; contoso.com points its selectors at the tenant's initial domain, as Microsoft 365 asks.
{KEY_NAME}. IN CNAME {KEY_TARGET}.
selector2._domainkey.contoso.com. IN CNAME selector2-contoso-com._domainkey.contoso.onmicrosoft.com.
{KEY_TARGET}. IN TXT {txt_zone_value(key_record)}
contoso.onmicrosoft.com. IN TXT "v=spf1 include:spf.protection.outlook.com -all"
"""


@pytest.fixture
def lab_dns(key_pem: bytes) -> LabDNS:
    return LabDNS.from_zone_text(_zone(public_key_record(key_pem)))


@pytest.fixture(scope="module")
def signed(key_pem: bytes) -> bytes:
    return sign_message(MESSAGE, "contoso.com", "selector1", key_pem)


def _verdict(result: str, reason: str, selector: str = "selector1") -> DkimVerdict:
    return DkimVerdict(result, "contoso.com", selector, reason)


# -- signing ---------------------------------------------------------------------------------------


def test_signature_is_prepended_and_names_domain_selector_and_headers(signed: bytes) -> None:
    assert signed.startswith(b"DKIM-Signature: ")
    assert signed.endswith(MESSAGE)
    header = signed[: len(signed) - len(MESSAGE)].decode()
    unfolded = " ".join(header.split())
    assert "d=contoso.com;" in unfolded
    assert "s=selector1;" in unfolded
    assert "c=relaxed/relaxed;" in unfolded
    assert "a=rsa-sha256;" in unfolded
    signed_fields = unfolded.split("h=", 1)[1].split(";", 1)[0].replace(" ", "").split(":")
    assert signed_fields == [
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
    ]


def test_absent_headers_of_the_default_list_are_not_signed(key_pem: bytes) -> None:
    assert "Cc" in DEFAULT_SIGNED_HEADERS
    out = sign_message(MESSAGE, "contoso.com", "selector1", key_pem)
    assert b"cc" not in out.split(b"h=", 1)[1].split(b";", 1)[0]


def test_sign_with_a_chosen_header_list_still_signs_from(key_pem: bytes, lab_dns: LabDNS) -> None:
    out = sign_message(MESSAGE, "contoso.com", "selector1", key_pem, headers=["Subject"])
    h = " ".join(out.decode().split()).split("h=", 1)[1].split(";", 1)[0]
    assert h.replace(" ", "") == "from:subject"
    assert verify_message(out, lab_dns).result == "pass"


def test_sign_message_with_bare_newlines(key_pem: bytes, lab_dns: LabDNS) -> None:
    message = MESSAGE.replace(b"\r\n", b"\n")
    out = sign_message(message, "contoso.com", "selector1", key_pem)
    assert b"\r" not in out
    assert verify_message(out, lab_dns).result == "pass"


def test_sign_accepts_pkcs1_pem(other_key_pem: bytes) -> None:
    dns = LabDNS.from_zone_text(_zone(public_key_record(other_key_pem)))
    out = sign_message(MESSAGE, "contoso.com", "selector1", other_key_pem)
    assert verify_message(out, dns).result == "pass"


def test_sign_rejects_a_non_rsa_key() -> None:
    pem = _pem(ec.generate_private_key(ec.SECP256R1()), serialization.PrivateFormat.PKCS8)
    with pytest.raises(ValueError, match="RSA"):
        sign_message(MESSAGE, "contoso.com", "selector1", pem)
    with pytest.raises(ValueError, match="RSA"):
        public_key_record(pem)


def test_sign_rejects_text_that_is_no_key() -> None:
    with pytest.raises(ValueError, match="PEM private key"):
        sign_message(MESSAGE, "contoso.com", "selector1", b"not a key")


# -- publishing ------------------------------------------------------------------------------------


def test_public_key_record_shape(key_pem: bytes) -> None:
    record = public_key_record(key_pem)
    assert record.startswith("v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA")
    assert len(record) > 255  # a 2048-bit key needs more than one TXT string


def test_published_key_is_read_back_whole_through_the_cname(key_pem: bytes) -> None:
    dns = LabDNS.from_zone_text(_zone(public_key_record(key_pem)))
    assert dns.txt(KEY_NAME) == [public_key_record(key_pem)]


@pytest.mark.parametrize(
    ("value", "limit", "expected"),
    [
        ("", 255, [""]),
        ("abc", 255, ["abc"]),
        ("a" * 255, 255, ["a" * 255]),
        ("a" * 256, 255, ["a" * 255, "a"]),
        ("a" * 600, 255, ["a" * 255, "a" * 255, "a" * 90]),
        ("abcdef", 4, ["abcd", "ef"]),
    ],
)
def test_split_txt(value: str, limit: int, expected: list[str]) -> None:
    parts = split_txt(value, limit)
    assert parts == expected
    assert "".join(parts) == value


@pytest.mark.parametrize("limit", [0, 256])
def test_split_txt_rejects_impossible_limits(limit: int) -> None:
    with pytest.raises(ValueError, match="1 to 255"):
        split_txt("abc", limit)


def test_txt_zone_value_quotes_each_string() -> None:
    assert txt_zone_value("a" * 300) == f'"{"a" * 255}" "{"a" * 45}"'


# -- verifying -------------------------------------------------------------------------------------


def test_signed_message_passes(signed: bytes, lab_dns: LabDNS) -> None:
    verdict = verify_message(signed, lab_dns)
    assert verdict == _verdict("pass", "signature was verified")
    assert verdict.passed
    assert verdict.key_name == KEY_NAME


def test_verification_reads_the_key_through_the_lab_dns(signed: bytes, lab_dns: LabDNS) -> None:
    before = lab_dns.queries
    verify_message(signed, lab_dns)
    assert lab_dns.queries == before + 1


def test_tampered_body_fails_on_the_body_hash(signed: bytes, lab_dns: LabDNS) -> None:
    tampered = signed.replace(b"Your scan is attached.", b"Your scan is NOT attached.")
    assert verify_message(tampered, lab_dns) == _verdict("fail", "body hash did not verify")


def test_relaxed_body_canonicalization_forgives_trailing_whitespace(signed: bytes, lab_dns: LabDNS) -> None:
    reformatted = signed.replace(b"attached.\r\n", b"attached.   \r\n\r\n\r\n")
    assert verify_message(reformatted, lab_dns).result == "pass"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"Subject: Scanned document", b"Subject: Invoice overdue"),
        (b"From: Scanner <scanner@contoso.com>", b"From: CEO <ceo@contoso.com>"),
        (b"To: alex@fabrikam.com", b"To: everyone@fabrikam.com"),
    ],
)
def test_tampered_signed_header_fails(signed: bytes, lab_dns: LabDNS, old: bytes, new: bytes) -> None:
    tampered = signed.replace(old, new)
    assert tampered != signed
    assert verify_message(tampered, lab_dns) == _verdict("fail", "signature did not verify")


def test_unsigned_header_may_change(signed: bytes, lab_dns: LabDNS) -> None:
    added = signed.replace(b"\r\n\r\n", b"\r\nX-Mailer: ScanMaster 3000\r\n\r\n", 1)
    assert verify_message(added, lab_dns).result == "pass"


def test_unsigned_message_is_none(lab_dns: LabDNS) -> None:
    assert verify_message(MESSAGE, lab_dns) == DkimVerdict("none", None, None, "message not signed")
    assert verify_all(MESSAGE, lab_dns) == [verify_message(MESSAGE, lab_dns)]


def test_key_missing_behind_the_cname(key_pem: bytes, lab_dns: LabDNS) -> None:
    # selector2's CNAME exists, but nothing is published at its target.
    out = sign_message(MESSAGE, "contoso.com", "selector2", key_pem)
    verdict = verify_message(out, lab_dns)
    assert verdict.result == "permerror"
    assert verdict.selector == "selector2"
    assert verdict.reason == (
        "no key published at selector2._domainkey.contoso.com "
        "(CNAME to selector2-contoso-com._domainkey.contoso.onmicrosoft.com)"
    )


def test_key_missing_for_an_unknown_domain(key_pem: bytes, lab_dns: LabDNS) -> None:
    out = sign_message(MESSAGE, "fabrikam.com", "s1", key_pem)
    assert verify_message(out, lab_dns) == DkimVerdict(
        "permerror", "fabrikam.com", "s1", "no key published at s1._domainkey.fabrikam.com"
    )


def test_key_removed_from_the_zone(signed: bytes, lab_dns: LabDNS) -> None:
    lab_dns.remove_records(KEY_TARGET, "TXT")
    verdict = verify_message(signed, lab_dns)
    assert verdict.result == "permerror"
    assert verdict.reason.startswith(f"no key published at {KEY_NAME}")


@pytest.mark.parametrize("failing", [KEY_NAME, KEY_TARGET])
def test_servfail_is_temperror(signed: bytes, lab_dns: LabDNS, failing: str) -> None:
    lab_dns.fail(failing)
    verdict = verify_message(signed, lab_dns)
    assert verdict.result == "temperror"
    assert verdict.domain == "contoso.com"
    assert verdict.reason.startswith(f"DNS lookup of TXT {KEY_NAME}")
    assert verdict.reason.endswith("failed (SERVFAIL)")
    lab_dns.fail(failing, False)
    assert verify_message(signed, lab_dns).result == "pass"


def test_wrong_key_published_fails(signed: bytes, other_key_pem: bytes) -> None:
    dns = LabDNS.from_zone_text(_zone(public_key_record(other_key_pem)))
    assert verify_message(signed, dns) == _verdict("fail", "signature did not verify")


@pytest.mark.parametrize(
    ("record", "reason_part"),
    [
        ("v=DKIM1; k=rsa; p=", "has been revoked (empty p=)"),
        ("v=DKIM1; k=rsa; p=QUJD", "is not a usable DKIM key (p= is not an RSA public key)"),
        ("v=DKIM2; k=rsa; p=QUJD", "is not a usable DKIM key: bad version"),
    ],
)
def test_unusable_key_is_permerror(signed: bytes, record: str, reason_part: str) -> None:
    dns = LabDNS.from_zone_text(_zone(record))
    verdict = verify_message(signed, dns)
    assert verdict.result == "permerror"
    assert verdict.reason == f"key at {KEY_NAME} (CNAME to {KEY_TARGET}) {reason_part}"


# A throwaway 512-bit key (cryptography refuses to generate one under 1024 bits); it protects nothing.
SHORT_KEY_PEM = b"""\
-----BEGIN PRIVATE KEY-----
MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA14K9w4ooIzjN7rma
F29pX5vl/+tjzt/fXU702t6UTtNa/iQQpam84tOhQ9MUAOSssOqS2tiaFSIKQnW1
E1ISgwIDAQABAkAf3vnpXRkqfFAYKeKb7KIMvaV5/3m3Mmx6BB857wjHzzyAdNAF
+1ZLZd7KaRImWfBxBMiLYaA+ioSRCsXECplhAiEA646meR3R9q630ESRFxad5C98
cgaMDuAA2eT6la80cu0CIQDqNrg3oOZY4ooPv41N95YpT/OiQFNr0udrb/zlvDi9
LwIhAKwQh4nxPm3zMlHvxAwZeTw1c7HXFnfHKNgBawnr8WQBAiEA2ICOl3WXmNCI
ePhDwa+9UiEDAJffxUsm+wyBRUhRVqcCIDwZ+r5yx1S27EGhJDGDaa10LQsiFOyk
MUkvFPqd1r0J
-----END PRIVATE KEY-----
"""


def test_short_key_is_permerror(lab_dns: LabDNS) -> None:
    pem = SHORT_KEY_PEM
    lab_dns.set_records(KEY_TARGET, "TXT", [txt_zone_value(public_key_record(pem))])
    verdict = verify_message(sign_message(MESSAGE, "contoso.com", "selector1", pem), lab_dns)
    assert verdict.result == "permerror"
    assert "is too short (512 bits; 1024 is the minimum)" in verdict.reason


def test_malformed_signature_header_is_permerror(lab_dns: LabDNS) -> None:
    message = b"DKIM-Signature: v=1; d=contoso.com; s=selector1\r\n" + MESSAGE
    verdict = verify_message(message, lab_dns)
    assert verdict == DkimVerdict(
        "permerror", "contoso.com", "selector1", "signature is not valid: missing a="
    )


def test_two_labs_in_one_process_see_their_own_keys(
    signed: bytes, lab_dns: LabDNS, other_key_pem: bytes
) -> None:
    other = LabDNS.from_zone_text(_zone(public_key_record(other_key_pem)))
    assert verify_message(signed, lab_dns).result == "pass"
    assert verify_message(signed, other).result == "fail"
    assert verify_message(signed, lab_dns).result == "pass"


def test_verify_all_reports_every_signature(signed: bytes, lab_dns: LabDNS, other_key_pem: bytes) -> None:
    # A second signature on top, by a domain whose key is not published.
    twice = sign_message(signed, "contoso.onmicrosoft.com", "selector1", other_key_pem)
    verdicts = verify_all(twice, lab_dns)
    assert [(v.result, v.domain) for v in verdicts] == [
        ("permerror", "contoso.onmicrosoft.com"),
        ("pass", "contoso.com"),
    ]
    assert verify_message(twice, lab_dns, index=1) == verdicts[1]
    with pytest.raises(IndexError):
        verify_message(twice, lab_dns, index=2)


def test_verify_does_not_log_to_stderr(
    signed: bytes, lab_dns: LabDNS, capsys: pytest.CaptureFixture[str]
) -> None:
    lab_dns.remove_records(KEY_TARGET, "TXT")
    verify_message(signed, lab_dns)
    assert capsys.readouterr().err == ""
