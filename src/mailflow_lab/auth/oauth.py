"""A lab OAuth issuer: Entra-ID-shaped access tokens for Exchange Online and the SMTP XOAUTH2 exchange."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

# Made-up, stable identifiers: uuid5(NAMESPACE_DNS, "contoso.onmicrosoft.com") and
# uuid5(NAMESPACE_DNS, "device-app.mailflow-lab.invalid"). Real tenant and app ids are GUIDs too.
LAB_TENANT_ID = "2b6d8627-79bd-5737-b194-7ee60e2c6ffc"
LAB_APP_ID = "2dd0c9a6-eeae-55d9-9a9e-49640e42023c"

# [OAUTH] Exchange Online's resource; tokens for SMTP name it as the audience.
EXCHANGE_RESOURCE = "https://outlook.office.com"
# Exchange Online also accepts tokens minted for its other resource URI and for its app id.
ACCEPTED_AUDIENCES = frozenset(
    {EXCHANGE_RESOURCE, "https://outlook.office365.com", "00000002-0000-0ff1-ce00-000000000000"}
)
GRAPH_RESOURCE = "https://graph.microsoft.com"
SMTP_SEND_SCOPE = f"{EXCHANGE_RESOURCE}/SMTP.Send"  # [OAUTH] delegated permission for SMTP AUTH
SMTP_SEND = "SMTP.Send"
SMTP_SEND_AS_APP = "SMTP.SendAsApp"  # [OAUTH] application permission (client credentials flow)

# What ".default" grants the lab's device app in delegated flows: the permissions consented to.
_DEFAULT_DELEGATED = (SMTP_SEND,)
# OpenID Connect scopes shape the refresh/ID tokens, never the access token's scp claim.
_OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})

_HEADER = {"typ": "JWT", "alg": "HS256", "kid": "mailflow-lab"}

TokenProblem = Literal[
    "malformed",
    "bad signature",
    "expired",
    "not yet valid",
    "wrong audience",
    "missing SMTP.Send scope",
    "token is for another user",
]


@dataclass(frozen=True)
class TokenCheck:
    """The verdict on a token: ``ok``, or the ``problem``. ``claims`` are only trustworthy when ``ok``."""

    ok: bool
    problem: TokenProblem | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)


class TokenIssuer:
    """Signs and checks lab access tokens (HS256 with ``secret``) on the lab's ``clock`` (POSIX seconds).

    Real Entra ID tokens are RS256-signed with Microsoft's published keys; the lab uses an HMAC so the
    issuer and the SMTP endpoint can share one secret. The claims follow Entra ID v1.0 access tokens.
    """

    def __init__(
        self,
        secret: bytes,
        clock: Callable[[], float],
        *,
        tenant_id: str = LAB_TENANT_ID,
        app_id: str = LAB_APP_ID,
        app_roles: tuple[str, ...] = (SMTP_SEND_AS_APP,),
    ) -> None:
        if not secret:
            raise ValueError("TokenIssuer needs a non-empty secret")
        self._secret = bytes(secret)
        self._clock = clock
        self.tenant_id = tenant_id
        self.app_id = app_id
        # Application permissions an admin granted the lab app on Exchange Online; app-only tokens carry
        # all of them whatever was asked for (client credentials always request "<resource>/.default").
        self.app_roles = tuple(app_roles)

    def issue(
        self, user: str, scope: str = SMTP_SEND_SCOPE, *, lifetime_s: int = 3600, app_only: bool = False
    ) -> str:
        """A signed token for ``user`` with the permissions ``scope`` asks for (space-separated URIs).

        The audience is the resource of the scopes: "https://outlook.office.com/SMTP.Send" gives an
        Exchange Online token with ``scp`` "SMTP.Send"; "https://outlook.office.com/IMAP.AccessAsUser.All"
        one without SMTP.Send; a bare or Graph scope a Graph token (wrong audience for SMTP).

        Delegated tokens carry ``scp`` (e.g. "SMTP.Send") and name the user in ``upn``/``unique_name``.
        App-only tokens (``app_only=True``, client credentials) carry ``roles`` instead (the issuer's
        ``app_roles``, by default ["SMTP.SendAsApp"]) and, as in Entra ID, name no user: ``user`` is then
        only the mailbox the app means to send as, and is not in the token.
        Entra ID's default access-token lifetime is 60-90 minutes; the lab default is 3600 s.
        """
        now = int(self._clock())
        audience, permissions = _resource_and_permissions(scope)
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + int(lifetime_s),
            "appid": self.app_id,
            "appidacr": "1",
            "idtyp": "app" if app_only else "user",
            "tid": self.tenant_id,
            "ver": "1.0",
        }
        if app_only:
            claims["roles"] = list(self.app_roles) if audience == EXCHANGE_RESOURCE else []
            claims["oid"] = claims["sub"] = _object_id(f"app:{self.app_id}")
        else:
            claims["scp"] = " ".join(permissions)
            claims["upn"] = claims["unique_name"] = user
            claims["oid"] = claims["sub"] = _object_id(f"user:{user.lower()}")
        signing_input = f"{_b64url_json(_HEADER)}.{_b64url_json(claims)}"
        return f"{signing_input}.{_b64url(self._sign(signing_input))}"

    def validate(self, token: str, user: str) -> TokenCheck:
        """Check ``token`` as Exchange Online would for ``AUTH XOAUTH2`` by ``user`` (the ``user=`` value).

        Checks, in order: shape, signature, lifetime (RFC 7519 §4.1.4-5), audience, permission, user.
        """
        try:
            header_b64, payload_b64, signature_b64 = token.strip().split(".")
            header = json.loads(_b64url_decode(header_b64))
            claims = json.loads(_b64url_decode(payload_b64))
            signature = _b64url_decode(signature_b64)
        except (ValueError, UnicodeDecodeError):
            return TokenCheck(False, "malformed")
        if not isinstance(header, dict) or not isinstance(claims, dict) or header.get("alg") != "HS256":
            return TokenCheck(False, "malformed")
        if not hmac.compare_digest(signature, self._sign(f"{header_b64}.{payload_b64}")):
            return TokenCheck(False, "bad signature", claims)
        exp, nbf = claims.get("exp"), claims.get("nbf", claims.get("iat"))
        if not isinstance(exp, int | float) or not isinstance(nbf, int | float):
            return TokenCheck(False, "malformed", claims)
        now = self._clock()
        if now >= exp:  # RFC 7519 §4.1.4: not accepted "on or after" exp
            return TokenCheck(False, "expired", claims)
        if now < nbf:  # RFC 7519 §4.1.5
            return TokenCheck(False, "not yet valid", claims)
        if claims.get("aud") not in ACCEPTED_AUDIENCES:
            return TokenCheck(False, "wrong audience", claims)
        roles = claims.get("roles")
        if isinstance(roles, list):
            # App-only token ([OAUTH], client credentials): SMTP.SendAsApp lets the app send as any
            # mailbox it is granted on (the lab grants all), so there is no user to compare with.
            if SMTP_SEND_AS_APP not in roles:
                return TokenCheck(False, "missing SMTP.Send scope", claims)
            return TokenCheck(True, None, claims)
        if SMTP_SEND not in str(claims.get("scp", "")).split():
            return TokenCheck(False, "missing SMTP.Send scope", claims)
        # UPNs compare case-insensitively, as Entra ID sign-in names do.
        if str(claims.get("upn", "")).lower() != user.strip().lower():
            return TokenCheck(False, "token is for another user", claims)
        return TokenCheck(True, None, claims)

    def _sign(self, signing_input: str) -> bytes:
        return hmac.new(self._secret, signing_input.encode("ascii"), hashlib.sha256).digest()


def decode_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT-shaped token, unverified, for display (like pasting it into jwt.ms)."""
    try:
        claims = json.loads(_b64url_decode(token.strip().split(".")[1]))
    except (IndexError, ValueError, UnicodeDecodeError) as exc:
        raise ValueError("not a JWT: expected header.payload.signature in base64url") from exc
    if not isinstance(claims, dict):
        raise ValueError("not a JWT: the payload is not a JSON object")
    return claims


def xoauth2_initial_response(user: str, token: str) -> str:
    """The base64 ``AUTH XOAUTH2`` argument: ``user={user}^Aauth=Bearer {token}^A^A`` ([OAUTH])."""
    raw = f"user={user}\x01auth=Bearer {token}\x01\x01"
    return base64.b64encode(raw.encode("utf-8")).decode("ascii")


class MalformedXOAuth2(ValueError):
    """The XOAUTH2 response decodes, but is not `user=...^Aauth=Bearer ...^A^A`."""


def parse_xoauth2(b64: str) -> tuple[str, str]:
    """``(user, token)`` from an ``AUTH XOAUTH2`` argument; ValueError if it is not base64 of UTF-8 text,
    MalformedXOAuth2 (a ValueError) if it decodes but is not well formed."""
    try:
        raw = base64.b64decode(b64.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as exc:
        raise ValueError("XOAUTH2 response is not valid base64 of UTF-8 text") from exc
    parts = raw.split("\x01")
    if len(parts) != 4 or parts[2:] != ["", ""]:
        raise MalformedXOAuth2(r"XOAUTH2 response must be 'user=...\x01auth=Bearer ...\x01\x01'")
    user_part, auth_part = parts[0], parts[1]
    if not user_part.startswith("user=") or not user_part[5:]:
        raise MalformedXOAuth2("XOAUTH2 response has no user=")
    scheme, _, token = auth_part.removeprefix("auth=").partition(" ")
    # RFC 6750 §2.1 / RFC 7235 §2.1: the auth scheme name is case-insensitive.
    if not auth_part.startswith("auth=") or scheme.lower() != "bearer" or not token.strip():
        raise MalformedXOAuth2("XOAUTH2 response has no auth=Bearer <token>")
    return user_part[5:], token.strip()


def _resource_and_permissions(scope: str) -> tuple[str, tuple[str, ...]]:
    """Split ``https://resource/Permission`` scopes as Entra ID does; one token serves one resource."""
    resource: str | None = None
    names: list[str] = []
    for item in scope.split():
        if item.lower() in _OIDC_SCOPES:
            continue
        # Entra ID v2.0: a scope without a resource URI means Microsoft Graph, so a bare "SMTP.Send"
        # yields a Graph token that Exchange Online refuses (a classic XOAUTH2 mistake).
        owner, _, name = item.rpartition("/") if "://" in item else (GRAPH_RESOURCE, "", item)
        owner = owner.rstrip("/").lower()
        if resource is None:
            resource = owner
        if owner != resource or not name:
            continue  # Entra ID refuses mixed resources; the lab keeps the first one's permissions
        if name == ".default":
            if owner == EXCHANGE_RESOURCE:
                names.extend(_DEFAULT_DELEGATED)
        else:
            names.append(name)
    return resource or EXCHANGE_RESOURCE, tuple(dict.fromkeys(names))


def _object_id(seed: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://mailflow-lab.invalid/{seed}"))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_json(obj: Mapping[str, Any]) -> str:
    return _b64url(json.dumps(obj, separators=(",", ":")).encode("utf-8"))


def _b64url_decode(text: str) -> bytes:
    # RFC 7515 §2: base64url without padding; anything outside that alphabet is malformed.
    if not text or not all(c.isascii() and (c.isalnum() or c in "-_") for c in text):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError("not base64url") from exc
