"""Lab certificates and keys: EC P-256 keys, the self-signed CA certificate and the leaves it signs."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CA_COMMON_NAME = "mailflow-lab Root CA (lab only)"
CA_VALIDITY = dt.timedelta(days=3650)
LEAF_VALIDITY = dt.timedelta(days=397)  # CA/Browser Forum Baseline Requirements §6.3.2 cap, kept for realism
RENEW_BEFORE = dt.timedelta(days=7)  # reissue cached material this close to expiry
BACKDATE = dt.timedelta(hours=1)  # tolerate a little clock skew between lab processes


def new_key() -> ec.EllipticCurvePrivateKey:
    """A fresh EC P-256 private key, for the CA or a leaf."""
    return ec.generate_private_key(ec.SECP256R1())


def build_ca_cert(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    """The self-signed lab CA certificate for ``key`` (no intermediates below it)."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mailflow-lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, CA_COMMON_NAME),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CA_VALIDITY)
        # RFC 5280 §4.2.1.9: a CA certificate marks basicConstraints critical; pathLen 0 = no intermediates.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(digital_signature=True, key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )


def _key_usage(
    *, digital_signature: bool = False, key_cert_sign: bool = False, crl_sign: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def issue_leaf(
    issuer: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    key: ec.EllipticCurvePrivateKey,
    common_name: str,
    dns_names: Sequence[str],
    *usages: x509.ObjectIdentifier,
) -> x509.Certificate:
    """A leaf certificate for ``key``, signed by ``issuer``: CN ``common_name``, SANs ``dns_names``."""
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + LEAF_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    )
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([general_name(n) for n in dns_names]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def normalise_names(hostnames: Sequence[str]) -> tuple[str, ...]:
    """Host names lower-cased, without a trailing dot, de-duplicated and sorted."""
    if isinstance(hostnames, str):
        raise TypeError("hostnames must be a list of names, not a single string")
    names = tuple(sorted({h.strip().lower().rstrip(".") for h in hostnames} - {""}))
    if not names:
        raise ValueError("at least one host name is needed")
    return names


def general_name(name: str) -> x509.GeneralName:
    """A SAN entry: an IP address entry for an address, a DNS name otherwise."""
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """A private key in unencrypted PKCS#8 PEM."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def is_expiring(cert: x509.Certificate) -> bool:
    """Not yet valid, or valid for less than RENEW_BEFORE: time to reissue it."""
    now = dt.datetime.now(dt.UTC)
    return cert.not_valid_before_utc > now or cert.not_valid_after_utc - now < RENEW_BEFORE
