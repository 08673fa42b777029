"""The lab's TLS material: a cached lab CA (EC P-256) and the server and client certificates it signs."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import ssl
import tempfile
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .certificates import BACKDATE as BACKDATE
from .certificates import (
    CA_COMMON_NAME,
    build_ca_cert,
    is_expiring,
    issue_leaf,
    key_pem,
    new_key,
    normalise_names,
)
from .certificates import CA_VALIDITY as CA_VALIDITY
from .certificates import LEAF_VALIDITY as LEAF_VALIDITY
from .certificates import RENEW_BEFORE as RENEW_BEFORE

try:  # POSIX only: serialises first-time creation between processes sharing one cache
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"

_SUPPORTED_VERSIONS = (
    ssl.TLSVersion.TLSv1,
    ssl.TLSVersion.TLSv1_1,
    ssl.TLSVersion.TLSv1_2,
    ssl.TLSVersion.TLSv1_3,
)
# OpenSSL 3 refuses TLS 1.0/1.1 at security level 1 and above (their handshake signs with MD5+SHA-1,
# under 80 bits), on *both* ends: a context that may speak them needs level 0.
_LEGACY_CIPHERS = "DEFAULT:@SECLEVEL=0"


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/mailflow-lab/tls``, or ``~/.cache/mailflow-lab/tls`` (XDG Base Directory spec)."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says relative paths in $XDG_CACHE_HOME are invalid and must be ignored.
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "mailflow-lab" / "tls"


@dataclass(frozen=True)
class ClientCert:
    """A certificate and private key (PEM) a device presents to authenticate by certificate."""

    cert_pem: bytes
    key_pem: bytes

    @property
    def common_name(self) -> str:
        """The certificate subject's CN."""
        cert = x509.load_pem_x509_certificate(self.cert_pem)
        return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)

    def write(self, directory: Path | str) -> tuple[Path, Path]:
        """Write ``<cn>-cert.pem`` and ``<cn>-key.pem`` (mode 0600) for swaks or msmtp; return both paths."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^A-Za-z0-9.-]+", "_", self.common_name).strip("._") or "client"
        cert_path = directory / f"{slug}-cert.pem"
        key_path = directory / f"{slug}-key.pem"
        _write_atomic(key_path, self.key_pem, 0o600)
        _write_atomic(cert_path, self.cert_pem, 0o644)
        return cert_path, key_path


class LabCA:
    """The lab certificate authority. Get one with :meth:`load_or_create`; it signs every lab certificate."""

    def __init__(self, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey, cache_dir: Path) -> None:
        self.certificate = cert
        self._key = key
        self.cache_dir = cache_dir
        self._lock = threading.Lock()
        self._leaf_paths: dict[tuple[str, ...], Path] = {}

    # -- the CA itself -------------------------------------------------------------------------------

    @classmethod
    def load_or_create(cls, cache_dir: Path | str | None = None) -> LabCA:
        """Reuse the CA cached in ``cache_dir`` (default :func:`default_cache_dir`), or create and cache one.

        A cached CA that cannot be read, whose key does not match, or that is about to expire is replaced
        (and with it every leaf it signed, since they no longer verify).
        """
        cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        cache.mkdir(mode=0o700, parents=True, exist_ok=True)
        loaded = cls._load(cache)
        if loaded is not None:
            return loaded
        with _cache_lock(cache):
            loaded = cls._load(cache)  # another process may have created it while we waited
            if loaded is not None:
                return loaded
            key = new_key()
            cert = build_ca_cert(key)
            _write_atomic(cache / CA_KEY_FILE, key_pem(key), 0o600)
            _write_atomic(cache / CA_FILE, cert.public_bytes(serialization.Encoding.PEM), 0o644)
            return cls(cert, key, cache)

    @classmethod
    def _load(cls, cache: Path) -> LabCA | None:
        try:
            cert = x509.load_pem_x509_certificate((cache / CA_FILE).read_bytes())
            key = serialization.load_pem_private_key((cache / CA_KEY_FILE).read_bytes(), password=None)
        except (OSError, ValueError, TypeError):
            return None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
            return None
        if is_expiring(cert):
            return None
        return cls(cert, key, cache)

    @property
    def ca_pem(self) -> bytes:
        """The CA certificate in PEM, for clients to trust."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def fingerprint(self) -> str:
        """SHA-256 fingerprint of the CA certificate, colon-separated hex as browsers show it."""
        return self.certificate.fingerprint(hashes.SHA256()).hex(":").upper()

    def write_ca(self, path: Path | str) -> Path:
        """Write the CA certificate to ``path`` (swaks ``--tls-ca-path``, msmtp ``tls_trust_file``)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, self.ca_pem, 0o644)
        return path

    # -- servers -------------------------------------------------------------------------------------

    def server_certificate_path(self, hostnames: Sequence[str]) -> Path:
        """The cached PEM file (key and certificate, mode 0600) of the server leaf for ``hostnames``.

        Keyed by the sorted, lower-cased host names; issued on first use (CN = the first name given) and
        reissued when it nears expiry or was signed by another CA.
        """
        names = normalise_names(hostnames)
        common_name = hostnames[0].strip().lower().rstrip(".") or names[0]
        with self._lock:
            path = self._leaf_paths.get(names)
            if path is not None and path.exists():
                return path
            digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]
            path = self.cache_dir / f"server-{_slug(names[0])}-{digest}.pem"
            if not self._leaf_is_usable(path, names):
                with _cache_lock(self.cache_dir):
                    if not self._leaf_is_usable(path, names):
                        key = new_key()
                        cert = issue_leaf(
                            self.certificate,
                            self._key,
                            key,
                            common_name,
                            names,
                            ExtendedKeyUsageOID.SERVER_AUTH,
                        )
                        pem = key_pem(key) + cert.public_bytes(serialization.Encoding.PEM)
                        _write_atomic(path, pem, 0o600)
            self._leaf_paths[names] = path
            return path

    def server_context(
        self,
        hostnames: Sequence[str],
        *,
        min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
        request_client_cert: bool = False,
    ) -> ssl.SSLContext:
        """A server context presenting a lab-signed certificate whose SANs are ``hostnames``.

        ``min_version=ssl.TLSVersion.TLSv1`` really accepts TLS 1.0 and 1.1 (e.g. for
        ``smtp-legacy.office365.com``); the default refuses them as Exchange Online has since 2022.
        With ``request_client_cert`` the server asks for an optional client certificate; one that does
        not chain to the lab CA fails the handshake, and :func:`peer_certificate_names` reads a good one.
        """
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.server_certificate_path(hostnames))
        _set_versions(ctx, min_version, None)
        if request_client_cert:
            ctx.verify_mode = ssl.CERT_OPTIONAL
            ctx.load_verify_locations(cadata=self.ca_pem.decode("ascii"))
        return ctx

    # -- clients -------------------------------------------------------------------------------------

    def client_certificate(self, common_name: str, san_dns: Sequence[str] = ()) -> ClientCert:
        """A new certificate for a device or server authenticating to an inbound connector by certificate.

        Not cached: issuing one takes about a millisecond. Extended key usage holds clientAuth and
        serverAuth, as public-CA certificates used on Exchange connectors do.
        """
        if not common_name.strip():
            raise ValueError("client certificate needs a non-empty common name")
        key = new_key()
        names = normalise_names(san_dns) if san_dns else ()
        cert = issue_leaf(
            self.certificate,
            self._key,
            key,
            common_name,
            names,
            ExtendedKeyUsageOID.CLIENT_AUTH,
            ExtendedKeyUsageOID.SERVER_AUTH,
        )
        return ClientCert(cert_pem=cert.public_bytes(serialization.Encoding.PEM), key_pem=key_pem(key))

    def client_context(
        self,
        cert: ClientCert | None = None,
        *,
        min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
        max_version: ssl.TLSVersion | None = None,
    ) -> ssl.SSLContext:
        """A client context that trusts the lab CA, checks host names, and optionally presents ``cert``.

        ``max_version=ssl.TLSVersion.TLSv1`` makes an old device that cannot do better than TLS 1.0.
        """
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # check_hostname=True, CERT_REQUIRED
        ctx.load_verify_locations(cadata=self.ca_pem.decode("ascii"))
        _set_versions(ctx, min_version, max_version)
        if cert is not None:
            # ssl only loads key material from files: stage it in a private directory, then delete it.
            with tempfile.TemporaryDirectory(prefix="mailflow-lab-client-") as tmp:
                path = Path(tmp) / "client.pem"
                _write_atomic(path, cert.key_pem + cert.cert_pem, 0o600)
                ctx.load_cert_chain(path)
        return ctx

    # -- internals -----------------------------------------------------------------------------------

    def _leaf_is_usable(self, path: Path, names: tuple[str, ...]) -> bool:
        try:
            pem = path.read_bytes()
            cert = x509.load_pem_x509_certificate(pem)
            key = serialization.load_pem_private_key(pem, password=None)
            cert.verify_directly_issued_by(self.certificate)
            sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except (OSError, ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
            return False
        listed = sorted(str(n.value).lower() for n in sans)
        return key.public_key() == cert.public_key() and listed == list(names) and not is_expiring(cert)

    def __repr__(self) -> str:
        return f"<LabCA {CA_COMMON_NAME!r} {self.fingerprint[:23]}... cache={str(self.cache_dir)!r}>"


def peer_certificate_names(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> list[str]:
    """The CN(s) and DNS SANs of the certificate the peer presented, lower-cased, without duplicates.

    Empty when the peer sent none. With ``CERT_OPTIONAL`` a certificate that fails verification aborts
    the handshake, so whatever ``getpeercert()`` returns here has been verified against the lab CA.
    """
    info = ssl_object.getpeercert()
    if not info:
        return []
    names: list[str] = []
    for rdn in info.get("subject", ()):
        for attr, value in rdn:
            if attr == "commonName":
                names.append(str(value).lower())
    for kind, value in info.get("subjectAltName", ()):
        if kind == "DNS":
            names.append(str(value).lower())
    return list(dict.fromkeys(names))


# -- helpers -----------------------------------------------------------------------------------------


def _set_versions(ctx: ssl.SSLContext, low: ssl.TLSVersion, high: ssl.TLSVersion | None) -> None:
    for version in (low, high):
        if version is not None and version not in _SUPPORTED_VERSIONS:
            raise ValueError(f"unsupported TLS version {version!r}; use TLSv1, TLSv1_1, TLSv1_2 or TLSv1_3")
    if high is not None and high < low:
        raise ValueError(f"max_version {high.name} is below min_version {low.name}")
    with warnings.catch_warnings():
        # Python deprecates TLS 1.0/1.1 (DeprecationWarning on assignment); the lab needs them on purpose
        # to reproduce 421 4.7.66 and the smtp-legacy.office365.com endpoint.
        warnings.filterwarnings("ignore", r"ssl\.TLSVersion\.TLSv1(_1)? is deprecated", DeprecationWarning)
        ctx.minimum_version = low
        if high is not None:
            ctx.maximum_version = high
    if low < ssl.TLSVersion.TLSv1_2:
        ctx.set_ciphers(_LEGACY_CIPHERS)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9.-]+", "_", name)[:60]


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write via a temp file in the same directory and ``os.replace``: readers see old or new, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.chmod(tmp, mode)  # mkstemp creates 0600; widened for certificates only
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _cache_lock(cache: Path) -> Iterator[None]:
    if fcntl is None:  # pragma: no cover - Windows: atomic writes and the key/cert check still hold
        yield
        return
    with open(cache / ".lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
