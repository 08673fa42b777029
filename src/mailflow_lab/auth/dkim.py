"""DKIM signatures (RFC 6376) with dkimpy, public keys read from the lab DNS through one lookup hook."""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import dkim
import dns.rcode
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# The header fields Exchange Online signs, plus the usual RFC 6376 §5.4.1 candidates. Only those
# present in the message are signed (From always), so h= reads like a real Microsoft 365 signature.
DEFAULT_SIGNED_HEADERS: tuple[str, ...] = (
    "From",
    "To",
    "Cc",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
)

# Exchange Online signs with c=relaxed/relaxed (seen in its DKIM-Signature headers).
DEFAULT_CANONICALIZATION = ("relaxed", "relaxed")

# RFC 1035 §3.3.14: one character-string in a TXT record holds at most 255 octets.


class Resolver(Protocol):
    """What a DKIM check needs of a DNS source: an answer with `rcode` and TXT `records`."""

    def resolve(self, name: str, rdtype: str) -> Any: ...


@dataclass(frozen=True)
class DkimVerdict:
    """The outcome of checking one DKIM signature (result names as in RFC 8601 §2.7.1)."""

    result: str  # pass | fail | none | temperror | permerror
    domain: str | None  # the signature's d=
    selector: str | None  # the signature's s=
    reason: str  # short, learner-readable, e.g. "body hash did not verify"

    @property
    def passed(self) -> bool:
        return self.result == "pass"

    @property
    def key_name(self) -> str | None:
        """Where the public key is looked up: <selector>._domainkey.<domain>."""
        if self.domain is None or self.selector is None:
            return None
        return f"{self.selector}._domainkey.{self.domain}"


# -- signing ---------------------------------------------------------------------------------------


def sign_message(
    message: bytes,
    domain: str,
    selector: str,
    private_key_pem: bytes,
    headers: Sequence[str] = DEFAULT_SIGNED_HEADERS,
    canonicalize: tuple[str, str] = DEFAULT_CANONICALIZATION,
) -> bytes:
    """The message with a DKIM-Signature header prepended (rsa-sha256, the fields present of `headers`)."""
    present = {name.lower() for name, _value in _header_fields(message)}
    chosen = [h for h in headers if h.lower() in present and h.lower() != "from"]
    include = [b"From", *(h.encode("ascii") for h in chosen)]  # RFC 6376 §5.4: From MUST be signed
    try:
        header = dkim.sign(
            message,
            selector.encode("ascii"),
            domain.encode("ascii"),
            _pkcs1_pem(private_key_pem),
            canonicalize=(canonicalize[0].encode("ascii"), canonicalize[1].encode("ascii")),
            include_headers=include,
            linesep=_linesep(message),
        )
    except dkim.DKIMException as exc:
        raise ValueError(f"cannot DKIM-sign for {domain}: {exc}") from None
    return header + message


def _pkcs1_pem(private_key_pem: bytes) -> bytes:
    """Any PEM RSA private key -> the PKCS#1 form dkimpy reads."""
    try:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a PEM private key without a password: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the lab signs DKIM with RSA keys only (rsa-sha256)")
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _linesep(message: bytes) -> bytes:
    head = message.split(b"\n", 1)[0]
    return b"\r\n" if head.endswith(b"\r") or b"\n" not in message else b"\n"


# -- publishing -------------------------------------------------------------------------------------


def public_key_record(private_key_pem: bytes) -> str:
    """The TXT value to publish for a key: 'v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo, base64>'."""
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the lab publishes RSA DKIM keys only (k=rsa)")
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode('ascii')}"


# -- verifying --------------------------------------------------------------------------------------


class _DnsTempError(Exception):
    """A key lookup met SERVFAIL; raised through dkimpy so the check ends as temperror."""


@dataclass
class _KeyLookup:
    """dkimpy's `dnsfunc` hook for one check: reads TXT from the given resolver, notes what it saw."""

    dns: Resolver
    name: str | None = None
    target: str | None = None  # where CNAMEs led, when they did (Microsoft 365 publishes keys so)
    found: str | None = None  # the key record used, when one was found

    def __call__(self, name: bytes, timeout: float = 5) -> bytes | None:
        self.name = name.decode("ascii", "replace").rstrip(".")
        answer = self.dns.resolve(self.name, "TXT")
        chain = getattr(answer, "chain", ())
        if chain:
            self.target = chain[-1][0].target.to_text(omit_final_dot=True)
        if answer.rcode == dns.rcode.SERVFAIL:
            raise _DnsTempError(f"DNS lookup of TXT {self.where} failed (SERVFAIL)")
        # NXDOMAIN, no TXT, or a CNAME leading out of the lab (REFUSED): no key published.
        values = [b"".join(r.strings) for r in answer.records]
        if not values:
            return None
        # RFC 6376 §3.6.2.2: several records at a selector give undefined results; take the first
        # that looks like a key, as dkimpy's own lookup takes the first.
        chosen = next((v for v in values if v.lstrip().startswith(b"v=DKIM1")), values[0])
        self.found = chosen.decode("ascii", "replace")
        return chosen

    @property
    def where(self) -> str:
        """The key's name as a learner should read it, with the CNAME target if there is one."""
        name = self.name or "the selector"
        return f"{name} (CNAME to {self.target})" if self.target else name


class _Collect(logging.Handler):
    """Keeps dkimpy's error messages for one check (a private logger, no global logging state)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _private_logger() -> tuple[logging.Logger, _Collect]:
    logger = logging.Logger("mailflow_lab.auth.dkim", logging.ERROR)  # not registered globally
    logger.propagate = False
    collect = _Collect()
    logger.addHandler(collect)
    return logger, collect


def verify_message(message: bytes, dns: Resolver, index: int = 0) -> DkimVerdict:
    """Check one DKIM-Signature (the topmost by default), reading the public key from `dns`."""
    signatures = _signature_headers(message)
    if not signatures:
        return DkimVerdict("none", None, None, "message not signed")
    if index >= len(signatures):
        raise IndexError(f"the message has {len(signatures)} DKIM signature(s), not {index + 1}")
    domain, selector = _d_and_s(signatures[index])
    logger, collect = _private_logger()
    lookup = _KeyLookup(dns)
    try:
        checker = dkim.DKIM(message, logger=logger)
        ok = checker.verify(idx=index, dnsfunc=lookup)
    except _DnsTempError as exc:
        return DkimVerdict("temperror", domain, selector, str(exc))
    except dkim.ValidationError as exc:
        if str(exc).startswith("body hash mismatch"):
            return DkimVerdict("fail", domain, selector, "body hash did not verify")
        return DkimVerdict("permerror", domain, selector, f"signature is not valid: {_clean(exc)}")
    except dkim.KeyFormatError as exc:  # raised after the lookup, e.g. a key under 1024 bits
        return DkimVerdict("permerror", domain, selector, _key_problem(_clean(exc), lookup))
    except dkim.DKIMException as exc:  # a malformed message or DKIM-Signature header
        return DkimVerdict("permerror", domain, selector, f"signature is malformed: {_clean(exc)}")
    if ok:
        return DkimVerdict("pass", domain, selector, "signature was verified")
    if lookup.name is not None and lookup.found is None:
        return DkimVerdict("permerror", domain, selector, f"no key published at {lookup.where}")
    if collect.messages:  # dkimpy could not use the key it was given
        return DkimVerdict("permerror", domain, selector, _key_problem(collect.messages[0], lookup))
    return DkimVerdict("fail", domain, selector, "signature did not verify")


def verify_all(message: bytes, dns: Resolver) -> list[DkimVerdict]:
    """Every DKIM signature's verdict, topmost first (a single "none" verdict when unsigned)."""
    count = len(_signature_headers(message))
    if count == 0:
        return [verify_message(message, dns)]
    return [verify_message(message, dns, index=i) for i in range(count)]


def _key_problem(detail: str, lookup: _KeyLookup) -> str:
    where = lookup.where
    if lookup.found is not None and re.search(r"(^|;)\s*p=\s*(;|$)", lookup.found):
        return f"key at {where} has been revoked (empty p=)"  # RFC 6376 §3.6.1
    if "too small" in detail:  # RFC 8301 §3.2: verifiers MUST NOT consider keys under 1024 bits
        return f"key at {where} is too short ({detail.rsplit(' ', 1)[-1]} bits; 1024 is the minimum)"
    if detail.startswith("could not parse"):
        return f"key at {where} is not a usable DKIM key (p= is not an RSA public key)"
    return f"key at {where} is not a usable DKIM key: {detail}"


def _clean(exc: object) -> str:
    """dkimpy's message without Python bytes reprs: "missing b'a'=" -> "missing a="."""
    return re.sub(r"""b(['"])(.*?)\1""", r"\2", str(exc))


# -- reading header fields (enough to report d= and s= even when dkimpy gives up) ---------------


_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


def _header_fields(message: bytes) -> list[tuple[str, bytes]]:
    # The header block only: searched, not split, so a large body is neither copied nor held under the GIL.
    end = _BLANK_LINE.search(message)
    head = message[: end.start()] if end is not None else message
    fields: list[tuple[str, bytes]] = []
    for line in re.split(rb"\r?\n", head):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + b" " + line.strip())
        elif b":" in line:
            name, value = line.split(b":", 1)
            fields.append((name.decode("ascii", "replace").strip(), value.strip()))
    return fields


def _signature_headers(message: bytes) -> list[bytes]:
    return [v for n, v in _header_fields(message) if n.lower() == "dkim-signature"]


def _d_and_s(value: bytes) -> tuple[str | None, str | None]:
    tags: dict[str, str] = {}
    for part in value.decode("ascii", "replace").split(";"):
        name, eq, tag_value = part.partition("=")
        if eq:
            tags.setdefault(name.strip(), re.sub(r"\s+", "", tag_value))
    return tags.get("d") or None, tags.get("s") or None
