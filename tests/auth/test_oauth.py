"""Tests for the lab OAuth issuer: token claims, every validation problem, and the XOAUTH2 string."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from mailflow_lab.auth.oauth import (
    EXCHANGE_RESOURCE,
    LAB_TENANT_ID,
    SMTP_SEND_SCOPE,
    TokenCheck,
    TokenIssuer,
    decode_claims,
    parse_xoauth2,
    xoauth2_initial_response,
)

USER = "alex@contoso.com"
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def issuer(clock: FakeClock) -> TokenIssuer:
    return TokenIssuer(b"lab-secret", clock)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _with_claims(token: str, **changes: object) -> str:
    """The same token with payload claims changed but the old signature kept."""
    header, _, signature = token.split(".")
    claims = decode_claims(token) | changes
    return f"{header}.{_b64url(json.dumps(claims).encode())}.{signature}"


# -- issuing ----------------------------------------------------------------------------------------------


def test_delegated_round_trip(issuer: TokenIssuer) -> None:
    token = issuer.issue(USER, SMTP_SEND_SCOPE)
    check = issuer.validate(token, USER)
    assert check == TokenCheck(True, None, check.claims)
    assert check.claims == decode_claims(token)


def test_header_and_claims_look_like_entra(issuer: TokenIssuer) -> None:
    token = issuer.issue(USER, SMTP_SEND_SCOPE, lifetime_s=600)
    header_b64 = token.split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=" * (-len(header_b64) % 4)))
    assert header == {"typ": "JWT", "alg": "HS256", "kid": "mailflow-lab"}
    claims = decode_claims(token)
    assert claims["aud"] == "https://outlook.office.com" == EXCHANGE_RESOURCE
    assert claims["iss"] == f"https://sts.windows.net/{LAB_TENANT_ID}/"
    assert claims["tid"] == LAB_TENANT_ID
    assert claims["iat"] == claims["nbf"] == int(T0) and claims["exp"] == int(T0) + 600
    assert claims["scp"] == "SMTP.Send" and "roles" not in claims
    assert claims["upn"] == claims["unique_name"] == USER
    assert claims["ver"] == "1.0" and claims["appid"]
    assert "=" not in token  # base64url without padding, RFC 7515 §2


def test_app_only_token(issuer: TokenIssuer) -> None:
    token = issuer.issue("printer-app", "https://outlook.office.com/.default", app_only=True)
    claims = decode_claims(token)
    assert claims["roles"] == ["SMTP.SendAsApp"]
    assert "scp" not in claims and "upn" not in claims  # app-only tokens name no user, as in Entra ID
    # SMTP.SendAsApp may send as any mailbox the app is granted: the user check does not apply.
    assert issuer.validate(token, USER).ok
    assert issuer.validate(token, "adele@contoso.com").ok


def test_app_only_without_smtp_role(clock: FakeClock) -> None:
    issuer = TokenIssuer(b"lab-secret", clock, app_roles=("IMAP.AccessAsApp",))
    token = issuer.issue("app", "https://outlook.office.com/.default", app_only=True)
    assert issuer.validate(token, USER).problem == "missing SMTP.Send scope"


@pytest.mark.parametrize(
    ("scope", "scp"),
    [
        (SMTP_SEND_SCOPE, "SMTP.Send"),
        ("https://outlook.office.com/SMTP.Send offline_access openid", "SMTP.Send"),
        (
            "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send",
            "IMAP.AccessAsUser.All SMTP.Send",
        ),
        ("https://outlook.office.com/.default", "SMTP.Send"),
    ],
)
def test_scopes_with_smtp_send(issuer: TokenIssuer, scope: str, scp: str) -> None:
    token = issuer.issue(USER, scope)
    assert decode_claims(token)["scp"] == scp
    assert issuer.validate(token, USER).ok


# -- every problem ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scope",
    [
        "https://outlook.office.com/IMAP.AccessAsUser.All",
        "https://outlook.office.com/POP.AccessAsUser.All",
        "",
    ],
)
def test_missing_smtp_send_scope(issuer: TokenIssuer, scope: str) -> None:
    check = issuer.validate(issuer.issue(USER, scope), USER)
    assert (check.ok, check.problem) == (False, "missing SMTP.Send scope")


@pytest.mark.parametrize("scope", ["https://graph.microsoft.com/Mail.Send", "SMTP.Send"])
def test_graph_token_has_wrong_audience(issuer: TokenIssuer, scope: str) -> None:
    # A scope without a resource URI is a Microsoft Graph scope: the token is for Graph, not Exchange.
    token = issuer.issue(USER, scope)
    assert decode_claims(token)["aud"] == "https://graph.microsoft.com"
    assert issuer.validate(token, USER).problem == "wrong audience"


def test_signature_checked_before_audience(issuer: TokenIssuer) -> None:
    token = issuer.issue(USER)
    forged = _with_claims(token, aud="https://example.com")
    assert issuer.validate(forged, USER).problem == "bad signature"  # signature comes first


def test_token_for_another_user(issuer: TokenIssuer) -> None:
    token = issuer.issue("adele@contoso.com")
    check = issuer.validate(token, USER)
    assert (check.ok, check.problem) == (False, "token is for another user")
    assert check.claims["upn"] == "adele@contoso.com"


def test_user_compared_case_insensitively(issuer: TokenIssuer) -> None:
    assert issuer.validate(issuer.issue("Alex@Contoso.com"), USER).ok


def test_expiry_with_injected_clock(issuer: TokenIssuer, clock: FakeClock) -> None:
    token = issuer.issue(USER, lifetime_s=3600)
    clock.now = T0 + 3599
    assert issuer.validate(token, USER).ok
    clock.now = T0 + 3600  # RFC 7519 §4.1.4: on or after exp is expired
    assert issuer.validate(token, USER).problem == "expired"


def test_not_yet_valid(issuer: TokenIssuer, clock: FakeClock) -> None:
    token = issuer.issue(USER)
    clock.now = T0 - 1
    assert issuer.validate(token, USER).problem == "not yet valid"


def test_tampered_payload_is_bad_signature(issuer: TokenIssuer) -> None:
    token = issuer.issue("adele@contoso.com")
    check = issuer.validate(_with_claims(token, upn=USER, unique_name=USER), USER)
    assert (check.ok, check.problem) == (False, "bad signature")


def test_other_secret_is_bad_signature(issuer: TokenIssuer, clock: FakeClock) -> None:
    token = TokenIssuer(b"someone-else", clock).issue(USER)
    assert issuer.validate(token, USER).problem == "bad signature"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-token",
        "a.b",
        "a.b.c.d",
        "!!!.???.***",
        f"{_b64url(b'{}')}.{_b64url(b'not json')}.{_b64url(b'sig')}",
        f"{_b64url(b'[]')}.{_b64url(b'{}')}.{_b64url(b'sig')}",
        f"{_b64url(json.dumps({'alg': 'none'}).encode())}.{_b64url(b'{}')}.",
        f"{_b64url(b'{}')}.{_b64url(bytes([0xFF, 0xFE]))}.{_b64url(b'sig')}",
    ],
)
def test_malformed(issuer: TokenIssuer, token: str) -> None:
    check = issuer.validate(token, USER)
    assert (check.ok, check.problem, dict(check.claims)) == (False, "malformed", {})


def test_malformed_when_signed_but_without_lifetime(issuer: TokenIssuer) -> None:
    token = issuer.issue(USER)
    header, payload, _ = token.split(".")
    claims = decode_claims(token)
    del claims["exp"]
    payload = _b64url(json.dumps(claims).encode())
    signature = hmac.new(b"lab-secret", f"{header}.{payload}".encode(), hashlib.sha256).digest()
    resigned = f"{header}.{payload}.{_b64url(signature)}"
    assert issuer.validate(resigned, USER).problem == "malformed"


def test_decode_claims_rejects_non_tokens() -> None:
    for bad in ("", "abc", "a.!!!.c", f"a.{_b64url(b'[1]')}.c"):
        with pytest.raises(ValueError):
            decode_claims(bad)


def test_issuer_needs_a_secret(clock: FakeClock) -> None:
    with pytest.raises(ValueError):
        TokenIssuer(b"", clock)


# -- XOAUTH2 ----------------------------------------------------------------------------------------------


def test_xoauth2_matches_documented_format() -> None:
    encoded = xoauth2_initial_response(USER, "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA")
    assert base64.b64decode(encoded) == (
        b"user=alex@contoso.com\x01auth=Bearer EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA\x01\x01"
    )


def test_xoauth2_round_trip(issuer: TokenIssuer) -> None:
    token = issuer.issue(USER)
    user, parsed = parse_xoauth2(xoauth2_initial_response(USER, token))
    assert (user, parsed) == (USER, token)
    assert issuer.validate(parsed, user).ok


def test_xoauth2_bearer_is_case_insensitive() -> None:
    raw = base64.b64encode(b"user=a@contoso.com\x01auth=bearer tok\x01\x01").decode()
    assert parse_xoauth2(f"  {raw}\r\n") == ("a@contoso.com", "tok")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"user=a@contoso.com",
        b"user=a@contoso.com\x01auth=Bearer tok",
        b"user=a@contoso.com\x01auth=Bearer tok\x01",
        b"user=\x01auth=Bearer tok\x01\x01",
        b"usr=a@contoso.com\x01auth=Bearer tok\x01\x01",
        b"user=a@contoso.com\x01auth=Basic dG9rCg==\x01\x01",
        b"user=a@contoso.com\x01auth=Bearer \x01\x01",
        b"user=a@contoso.com\x01Bearer tok\x01\x01",
        b"user=a@contoso.com\x01auth=Bearer tok\x01\x01extra",
        b"\xff\xfe\x01\x01\x01",
    ],
)
def test_parse_xoauth2_malformed(raw: bytes) -> None:
    with pytest.raises(ValueError):
        parse_xoauth2(base64.b64encode(raw).decode())


@pytest.mark.parametrize("text", ["not base64!", "dXNlcj1h=garbage", "*"])
def test_parse_xoauth2_not_base64(text: str) -> None:
    with pytest.raises(ValueError):
        parse_xoauth2(text)
