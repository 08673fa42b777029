"""Tests for the lab CA: real TLS handshakes over 127.0.0.1, cached material, legacy TLS, client certs."""

from __future__ import annotations

import socket
import ssl
import stat
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509

from mailflow_lab.lab.tlsmaterial import (
    CA_COMMON_NAME,
    CA_FILE,
    CA_KEY_FILE,
    LabCA,
    default_cache_dir,
    peer_certificate_names,
)

M365_NAMES = ["smtp.office365.com", "smtp-legacy.office365.com"]
TLS1, TLS1_1, TLS1_2, TLS1_3 = (
    ssl.TLSVersion.TLSv1,
    ssl.TLSVersion.TLSv1_1,
    ssl.TLSVersion.TLSv1_2,
    ssl.TLSVersion.TLSv1_3,
)


@dataclass
class Outcome:
    """What each end of one handshake saw."""

    server_version: str | None = None
    client_version: str | None = None
    server_error: BaseException | None = None
    client_error: BaseException | None = None
    peer_names: list[str] = field(default_factory=list)
    server_cert_der: bytes | None = None


def handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, server_hostname: str) -> Outcome:
    """Run one TLS handshake between a listening socket on 127.0.0.1 (in a thread) and a client."""
    out = Outcome()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError as exc:
            out.server_error = exc
            return
        conn.settimeout(5)
        try:
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                out.server_version = tls.version()
                out.peer_names = peer_certificate_names(tls)
                tls.sendall(b"ok")  # TLS 1.3: a refused client cert only surfaces at the client's first read
        except (ssl.SSLError, OSError) as exc:
            out.server_error = exc
        finally:
            conn.close()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with socket.create_connection(listener.getsockname(), timeout=5) as raw:
            with client_ctx.wrap_socket(raw, server_hostname=server_hostname) as tls:
                out.server_cert_der = tls.getpeercert(binary_form=True)
                out.client_version = tls.version()
                if tls.recv(2) != b"ok":
                    raise ConnectionError("server closed before saying ok")
    except (ssl.SSLError, OSError) as exc:
        out.client_error = exc
    finally:
        thread.join(10)
        listener.close()
    assert not thread.is_alive(), "server thread hung"
    return out


@pytest.fixture
def ca(tmp_path: Path) -> LabCA:
    return LabCA.load_or_create(tmp_path / "tls")


def _legacy_supported() -> bool:
    return ssl.HAS_TLSv1 and ssl.HAS_TLSv1_1


legacy_only = pytest.mark.skipif(
    not _legacy_supported(), reason="this Python/OpenSSL build has no TLS 1.0/1.1 at all (ssl.HAS_TLSv1*)"
)


# -- modern TLS ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "expected"), [(TLS1_2, "TLSv1.2"), (TLS1_3, "TLSv1.3")], ids=["1.2", "1.3"]
)
def test_modern_handshake(ca: LabCA, version: ssl.TLSVersion, expected: str) -> None:
    client = ca.client_context(min_version=version, max_version=version)
    out = handshake(ca.server_context(M365_NAMES), client, "smtp.office365.com")
    assert (out.client_error, out.server_error) == (None, None)
    assert out.client_version == out.server_version == expected
    assert out.peer_names == []  # no client certificate requested or sent


def test_default_client_negotiates_tls13(ca: LabCA) -> None:
    out = handshake(ca.server_context(M365_NAMES), ca.client_context(), "smtp.office365.com")
    assert out.client_version == out.server_version == "TLSv1.3"


# -- legacy TLS (smtp-legacy.office365.com and 421 4.7.66) ---------------------------------------------


@legacy_only
@pytest.mark.parametrize(("version", "expected"), [(TLS1, "TLSv1"), (TLS1_1, "TLSv1.1")], ids=["1.0", "1.1"])
def test_legacy_handshake_completes_against_legacy_server(
    ca: LabCA, version: ssl.TLSVersion, expected: str
) -> None:
    server = ca.server_context(M365_NAMES, min_version=TLS1)
    old_device = ca.client_context(min_version=TLS1, max_version=version)
    out = handshake(server, old_device, "smtp-legacy.office365.com")
    if out.client_error and "no protocols available" in str(out.client_error).lower():
        pytest.skip(f"local OpenSSL cannot do {expected} even at @SECLEVEL=0: {out.client_error}")
    assert (out.client_error, out.server_error) == (None, None)
    assert out.client_version == out.server_version == expected


@legacy_only
@pytest.mark.parametrize("version", [TLS1, TLS1_1], ids=["1.0", "1.1"])
def test_legacy_client_refused_by_default_server(ca: LabCA, version: ssl.TLSVersion) -> None:
    old_device = ca.client_context(min_version=TLS1, max_version=version)
    out = handshake(ca.server_context(M365_NAMES), old_device, "smtp.office365.com")
    assert isinstance(out.server_error, ssl.SSLError)
    assert isinstance(out.client_error, ssl.SSLError)
    assert out.server_version is None and out.client_version is None


def test_legacy_server_still_prefers_tls13(ca: LabCA) -> None:
    out = handshake(
        ca.server_context(M365_NAMES, min_version=TLS1), ca.client_context(), "smtp.office365.com"
    )
    assert out.client_version == out.server_version == "TLSv1.3"


def test_contexts_report_their_versions(ca: LabCA) -> None:
    assert ca.server_context(M365_NAMES).minimum_version == TLS1_2
    assert ca.server_context(M365_NAMES, min_version=TLS1).minimum_version == TLS1
    client = ca.client_context(min_version=TLS1, max_version=TLS1_1)
    assert (client.minimum_version, client.maximum_version) == (TLS1, TLS1_1)


@pytest.mark.parametrize(
    ("low", "high"),
    [(ssl.TLSVersion.SSLv3, None), (ssl.TLSVersion.MINIMUM_SUPPORTED, None), (TLS1_3, TLS1_2)],
)
def test_unsupported_versions_rejected(ca: LabCA, low: ssl.TLSVersion, high: ssl.TLSVersion | None) -> None:
    with pytest.raises(ValueError):
        ca.client_context(min_version=low, max_version=high)


# -- host names -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", M365_NAMES)
def test_hostname_matches_san(ca: LabCA, name: str) -> None:
    out = handshake(ca.server_context(M365_NAMES), ca.client_context(), name)
    assert out.client_error is None
    cert = x509.load_der_x509_certificate(out.server_cert_der or b"")
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(sans.get_values_for_type(x509.DNSName)) == sorted(M365_NAMES)
    assert CA_COMMON_NAME in cert.issuer.rfc4514_string()


def test_hostname_mismatch_is_refused(ca: LabCA) -> None:
    name = "contoso-com.mail.protection.outlook.com"  # the MX host: not among the submission names
    out = handshake(ca.server_context(M365_NAMES), ca.client_context(), name)
    assert isinstance(out.client_error, ssl.SSLCertVerificationError)
    assert out.client_error.verify_code == 62  # X509_V_ERR_HOSTNAME_MISMATCH
    assert out.client_error.verify_message == f"Hostname mismatch, certificate is not valid for '{name}'."
    assert f"certificate verify failed: {out.client_error.verify_message}" in str(out.client_error)


def test_client_without_lab_ca_refuses_server(ca: LabCA, tmp_path: Path) -> None:
    other = LabCA.load_or_create(tmp_path / "other")
    out = handshake(ca.server_context(M365_NAMES), other.client_context(), "smtp.office365.com")
    assert isinstance(out.client_error, ssl.SSLCertVerificationError)


def test_ip_address_san(ca: LabCA) -> None:
    out = handshake(ca.server_context(["localhost", "127.0.0.1"]), ca.client_context(), "127.0.0.1")
    assert out.client_error is None


# -- client certificates (certificate-based inbound connector) -------------------------------------------


def test_client_certificate_names_read_by_server(ca: LabCA) -> None:
    device = ca.client_certificate("Relay.Contoso.com", ["mail.contoso.com", "Relay.Contoso.com"])
    server = ca.server_context(["contoso-com.mail.protection.outlook.com"], request_client_cert=True)
    out = handshake(server, ca.client_context(device), "contoso-com.mail.protection.outlook.com")
    assert (out.client_error, out.server_error) == (None, None)
    assert out.peer_names == ["relay.contoso.com", "mail.contoso.com"]
    assert device.common_name == "Relay.Contoso.com"


@legacy_only
def test_client_certificate_over_tls10(ca: LabCA) -> None:
    device = ca.client_certificate("scanner.contoso.com", ["contoso.com"])
    server = ca.server_context(M365_NAMES, min_version=TLS1, request_client_cert=True)
    out = handshake(
        server, ca.client_context(device, min_version=TLS1, max_version=TLS1), "smtp.office365.com"
    )
    assert out.server_version == "TLSv1"
    assert out.peer_names == ["scanner.contoso.com", "contoso.com"]


def test_client_certificate_is_optional(ca: LabCA) -> None:
    server = ca.server_context(M365_NAMES, request_client_cert=True)
    assert server.verify_mode == ssl.CERT_OPTIONAL
    out = handshake(server, ca.client_context(), "smtp.office365.com")
    assert out.server_error is None and out.peer_names == []


def test_client_certificate_from_another_ca_is_refused(ca: LabCA, tmp_path: Path) -> None:
    stranger = LabCA.load_or_create(tmp_path / "stranger")
    bad = stranger.client_certificate("relay.contoso.com", ["contoso.com"])
    server = ca.server_context(M365_NAMES, request_client_cert=True)
    out = handshake(server, ca.client_context(bad), "smtp.office365.com")
    assert isinstance(out.server_error, ssl.SSLError)
    assert out.peer_names == []
    # Under TLS 1.3 the client's handshake finishes first; the refusal arrives as an alert on its read.
    assert out.client_error is not None


def test_client_certificate_without_san(ca: LabCA) -> None:
    device = ca.client_certificate("printer-3f.contoso.com", [])
    server = ca.server_context(M365_NAMES, request_client_cert=True)
    assert handshake(server, ca.client_context(device), "smtp.office365.com").peer_names == [
        "printer-3f.contoso.com"
    ]


def test_client_certificate_write(ca: LabCA, tmp_path: Path) -> None:
    device = ca.client_certificate("relay.contoso.com", ["contoso.com"])
    cert_path, key_path = device.write(tmp_path / "device")
    assert cert_path.read_bytes() == device.cert_pem
    assert key_path.read_bytes() == device.key_pem
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_cert_chain(cert_path, key_path)  # what swaks --tls-cert/--tls-key would load


def test_write_ca_for_external_clients(ca: LabCA, tmp_path: Path) -> None:
    path = ca.write_ca(tmp_path / "out" / "lab-ca.pem")
    assert path.read_bytes() == ca.ca_pem
    ctx = ssl.create_default_context(cafile=str(path))
    out = handshake(ca.server_context(M365_NAMES), ctx, "smtp.office365.com")
    assert out.client_error is None


# -- the cache --------------------------------------------------------------------------------------------


def test_cache_reuses_ca_and_leaf(tmp_path: Path) -> None:
    cache = tmp_path / "tls"
    started = time.perf_counter()
    first = LabCA.load_or_create(cache)
    first_out = handshake(first.server_context(M365_NAMES), first.client_context(), "smtp.office365.com")
    cold = time.perf_counter() - started

    started = time.perf_counter()
    second = LabCA.load_or_create(cache)
    server = second.server_context(list(reversed(M365_NAMES)))  # same names, other order: same leaf
    warm = time.perf_counter() - started
    second_out = handshake(server, second.client_context(), "smtp.office365.com")

    assert second.ca_pem == first.ca_pem
    assert second_out.server_cert_der == first_out.server_cert_der
    # Informal only (never asserted): cold includes key generation and one handshake.
    print(f"lab CA cold start {cold * 1000:.1f} ms, warm start {warm * 1000:.1f} ms")


def test_cache_file_modes(ca: LabCA) -> None:
    ca.server_context(M365_NAMES)
    assert stat.S_IMODE((ca.cache_dir / CA_KEY_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE((ca.cache_dir / CA_FILE).stat().st_mode) == 0o644
    leaves = list(ca.cache_dir.glob("server-*.pem"))
    assert len(leaves) == 1 and stat.S_IMODE(leaves[0].stat().st_mode) == 0o600
    assert not list(ca.cache_dir.glob(".*.tmp"))  # no leftovers from atomic writes


def test_leaf_cache_keyed_by_names(ca: LabCA) -> None:
    a = ca.server_certificate_path(["smtp.office365.com"])
    b = ca.server_certificate_path(["SMTP.office365.com."])
    c = ca.server_certificate_path(M365_NAMES)
    assert a == b != c


@pytest.mark.parametrize("damage", ["garbage", "other key", "missing key"])
def test_damaged_cache_is_replaced(tmp_path: Path, damage: str) -> None:
    cache = tmp_path / "tls"
    first = LabCA.load_or_create(cache)
    old_leaf = first.server_certificate_path(M365_NAMES).read_bytes()
    if damage == "garbage":
        (cache / CA_FILE).write_bytes(b"not a certificate")
    elif damage == "other key":
        (cache / CA_KEY_FILE).write_bytes(
            (LabCA.load_or_create(tmp_path / "x").cache_dir / CA_KEY_FILE).read_bytes()
        )
    else:
        (cache / CA_KEY_FILE).unlink()
    second = LabCA.load_or_create(cache)
    assert second.ca_pem != first.ca_pem
    # The old leaf was signed by the old CA: it is reissued, and clients of the new CA accept it.
    assert second.server_certificate_path(M365_NAMES).read_bytes() != old_leaf
    out = handshake(second.server_context(M365_NAMES), second.client_context(), "smtp.office365.com")
    assert out.client_error is None


def test_ca_certificate_shape(ca: LabCA) -> None:
    cert = ca.certificate
    assert CA_COMMON_NAME in cert.subject.rfc4514_string()
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.fingerprint.count(":") == 31
    assert repr(ca).startswith("<LabCA ")


def test_default_cache_dir_respects_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "mailflow-lab" / "tls"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "mailflow-lab" / "tls"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "mailflow-lab" / "tls"


def test_server_context_needs_names(ca: LabCA) -> None:
    with pytest.raises(ValueError):
        ca.server_context([])
    with pytest.raises(TypeError):
        ca.server_context("smtp.office365.com")  # type: ignore[arg-type]


def test_security_level_lowered_only_for_legacy(ca: LabCA) -> None:
    # OpenSSL 3 refuses TLS 1.0/1.1 at security level >= 1 on either end, so both ends need level 0.
    assert ca.server_context(M365_NAMES).security_level >= 1
    assert ca.client_context().security_level >= 1
    assert ca.server_context(M365_NAMES, min_version=TLS1).security_level == 0
    assert ca.client_context(min_version=TLS1, max_version=TLS1).security_level == 0


def test_wildcard_san_for_tenant_mx_hosts(ca: LabCA) -> None:
    server = ca.server_context(["*.mail.protection.outlook.com"])
    assert (
        handshake(server, ca.client_context(), "contoso-com.mail.protection.outlook.com").client_error is None
    )
    out = handshake(server, ca.client_context(), "a.b.mail.protection.outlook.com")  # one label only
    assert isinstance(out.client_error, ssl.SSLCertVerificationError)
