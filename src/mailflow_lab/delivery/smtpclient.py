"""The lab's own hand-off client: smtplib to another lab endpoint, appearing from a declared address."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

HAND_OFF_TIMEOUT_S = 30


class XclientRefused(smtplib.SMTPResponseException):
    """The next hop refused XCLIENT: the lab could not declare the address it sends from."""


@contextmanager
def hand_off(
    host: str,
    port: int,
    *,
    helo: str,
    source_ip: str,
    tls: ssl.SSLContext | None = None,
    tls_name: str = "",
    timeout: float = HAND_OFF_TIMEOUT_S,
) -> Iterator[smtplib.SMTP]:
    """An SMTP session to (host, port) after XCLIENT ADDR=source_ip (the address the next hop sees), EHLO
    and, with `tls`, STARTTLS checked against `tls_name`; ready for MAIL FROM.

    A refused XCLIENT raises XclientRefused with the server's reply.
    """
    with smtplib.SMTP(host, port, local_hostname=helo, timeout=timeout) as smtp:
        code, text = smtp.docmd("XCLIENT", f"ADDR={source_ip} HELO={helo}")
        if code != 220:
            raise XclientRefused(code, text)
        smtp.ehlo(helo)
        if tls is not None:
            # smtplib checks the certificate against the name it connected to (127.0.0.1 here): the world
            # name it stands for is set instead. `_host` is smtplib's private field, stable since 3.x.
            smtp._host = tls_name  # type: ignore[attr-defined]
            smtp.starttls(context=tls)
            smtp.ehlo(helo)
        yield smtp
