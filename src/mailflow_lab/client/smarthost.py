"""The main.cf lines that make Postfix an on-premises smarthost relaying to Microsoft 365 (postconf(5))."""

from __future__ import annotations

from collections.abc import Mapping

from ..world.hosts import SUBMISSION_SERVER

# Where each set-up sends in Microsoft 365 ([MFD]): SMTP AUTH submission on 587, or the tenant MX on 25.
SUBMISSION_PORT = 587
MX_PORT = 25


def relayhost(host: str = SUBMISSION_SERVER, port: int = SUBMISSION_PORT) -> str:
    """Postfix's `relayhost` value: the brackets turn off the MX lookup, so Postfix connects to `host`."""
    return f"[{host}]:{port}"


def connector_settings(
    relay: str,
    *,
    cert_file: str,
    key_file: str,
    ca_file: str | None = None,
) -> dict[str, str]:
    """Relay to the tenant MX, recognised by an inbound connector by the TLS certificate Postfix presents.

    The certificate's CN or SAN must hold an accepted domain and match the connector's
    TlsSenderCertificateName (Microsoft: "Configure a certificate-based connector to relay email messages
    through Microsoft 365"); Postfix presents it only over TLS, so TLS is mandatory (level `encrypt`).
    """
    settings = {
        "relayhost": relay,
        "smtp_tls_security_level": "encrypt",
        "smtp_tls_cert_file": cert_file,
        "smtp_tls_key_file": key_file,
    }
    if ca_file is not None:
        settings["smtp_tls_CAfile"] = ca_file
    return settings


def sasl_settings(relay: str, *, password_map: str, ca_file: str | None = None) -> dict[str, str]:
    """Relay to smtp.office365.com:587 with SMTP AUTH as one mailbox (the map holds its name and password).

    Microsoft 365 offers AUTH only after STARTTLS (level `encrypt`), and only LOGIN and XOAUTH2 (the filter
    keeps Cyrus SASL to LOGIN); `noanonymous` refuses mechanisms that send no credentials.
    """
    settings = {
        "relayhost": relay,
        "smtp_sasl_auth_enable": "yes",
        "smtp_sasl_password_maps": password_map,
        "smtp_sasl_security_options": "noanonymous",
        "smtp_sasl_mechanism_filter": "login",
        "smtp_tls_security_level": "encrypt",
    }
    if ca_file is not None:
        settings["smtp_tls_CAfile"] = ca_file
    return settings


def sasl_password_line(relay: str, user: str, password: str) -> str:
    """One line of the `smtp_sasl_password_maps` file: the relayhost exactly as in main.cf, then user:pass."""
    return f"{relay} {user}:{password}\n"


def main_cf(settings: Mapping[str, str], *, comment: str = "") -> str:
    """The settings as main.cf lines (`name = value`), after an optional `#` comment line."""
    head = [f"# {line}".rstrip() for line in comment.splitlines()]
    return "".join(
        f"{line}\n" for line in [*head, *(f"{name} = {value}" for name, value in settings.items())]
    )
