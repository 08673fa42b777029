"""A printer, scanner or app sending one message to a running lab, over real SMTP, with its transcript."""

from __future__ import annotations

import base64
import email.utils
import html
import ipaddress
import re
import smtplib
import socket
import ssl
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from typing import Any, Protocol

from ..auth.oauth import xoauth2_initial_response
from ..policy.replies import Reply
from ..world import model
from .fields import field_with_line_break, line_break_error
from .transcript import Transcript


class CertificateAuthority(Protocol):
    """The lab CA as a device uses it: a client TLS context, with a lab-issued certificate or none."""

    def client_context(
        self,
        cert: Any = None,
        *,
        min_version: ssl.TLSVersion = ...,
        max_version: ssl.TLSVersion | None = None,
    ) -> ssl.SSLContext: ...


class Lab(Protocol):
    """What a device needs of the lab it sends to (a running `mailflow_lab.Lab` is one): the device layer
    sits below the lab layer and knows it only by this shape."""

    @property
    def stopped(self) -> bool: ...

    @property
    def world(self) -> model.World: ...

    @property
    def ca(self) -> CertificateAuthority: ...

    def endpoint(self, host: str, port: int) -> tuple[str, int]: ...

    def client_certificate(self, domain: str) -> Any: ...

    def locate(self, recipient: str, message_id: str) -> Outcome: ...


TLS_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
CONNECT_TIMEOUT_S = 30


@dataclass(frozen=True)
class Outcome:
    """Where one recipient's copy ended: a folder, quarantine, pending, or refused with a reply."""

    recipient: str
    where: str  # "Inbox", "Junk Email", "quarantine", "pending", "rejected", "failed", "unknown"
    reply: Reply | None = None
    detail: str = ""


@dataclass
class SendResult:
    """What happened when a device sent: the final reply, the transcript, and each recipient's outcome."""

    device: str
    accepted: bool
    reply: Reply | None
    transcript: Transcript
    outcome: dict[str, Outcome] = field(default_factory=dict)
    message_id: str | None = None
    error: str | None = None
    step: str = "connect"  # the SMTP step reached: connect, EHLO, STARTTLS, TLS, AUTH, MAIL, RCPT, DATA

    def _repr_html_(self) -> str:
        # Every value escaped: a reply quotes the message id as <...@contoso.com>, a tag to a browser.
        e = html.escape
        head = "accepted" if self.accepted else "refused"
        final = str(self.reply) if self.reply else (self.error or "no reply")
        rows = "".join(
            f"<li>{e(o.recipient)}: <b>{e(o.where)}</b> {e(o.detail)}</li>" for o in self.outcome.values()
        )
        message_id = f"<p>Message-ID: <code>{e(self.message_id)}</code></p>" if self.message_id else ""
        return (
            f"<p><b>{e(self.device)}</b>: {head}: <code>{e(final)}</code></p>{message_id}<ul>{rows}</ul>"
            + self.transcript._repr_html_()
        )

    def __str__(self) -> str:
        final = str(self.reply) if self.reply else (self.error or "no reply")
        lines = [f"{self.device}: {'accepted' if self.accepted else 'refused'}: {final}"]
        lines += [f"  {o.recipient}: {o.where} {o.detail}".rstrip() for o in self.outcome.values()]
        return "\n".join(lines) + "\n" + self.transcript.text()


class _Refused(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(str(reply))
        self.reply = reply


class _RecordingSMTP(smtplib.SMTP):
    """smtplib that writes every command and reply into a transcript (the message body summarised)."""

    def __init__(self, transcript: Transcript, **kwargs: Any) -> None:
        self.transcript = transcript
        self.hidden = False  # True while the XCLIENT exchange runs: learners see a note instead
        self._in_data = False
        super().__init__(**kwargs)

    def send(self, s: bytes | str) -> None:
        text = s.decode("utf-8", "replace") if isinstance(s, bytes) else s
        if self._in_data:
            self.transcript.client(f"<message, {len(s)} bytes, ending with CRLF.CRLF>")
            self._in_data = False
        elif not self.hidden:
            for line in text.rstrip("\r\n").split("\r\n"):
                self.transcript.client(line)
        super().send(s)

    def bdat(self, content: bytes) -> tuple[int, bytes]:
        """The message as one `BDAT <size> LAST` chunk (RFC 3030): its bytes as they are, no dot-stuffing."""
        self.transcript.client(f"BDAT {len(content)} LAST")
        self.transcript.client(f"<message, {len(content)} bytes, as one chunk>")
        smtplib.SMTP.send(self, f"BDAT {len(content)} LAST\r\n".encode() + content)
        return self.getreply()

    def getreply(self) -> tuple[int, bytes]:
        code, message = super().getreply()
        if not self.hidden:
            self.transcript.server(code, message.decode("utf-8", "replace"))
        if code == 354:
            self._in_data = True
        return code, message


class Device(model.Device):
    """A device as a learner configures it; `send` talks real SMTP to the lab."""

    @classmethod
    def from_model(cls, device: model.Device) -> Device:
        return cls(**{f: getattr(device, f) for f in device.__dataclass_fields__})

    def build_message(
        self, to: list[str], subject: str, body: str, attachment: bytes | None = None
    ) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(to)
        message["Subject"] = subject
        message["Date"] = email.utils.formatdate(localtime=False)
        domain = self.sender.rpartition("@")[2] or "device.invalid"
        message["Message-ID"] = f"<{uuid.uuid4()}@{domain}>"
        message.set_content(body)
        if attachment is not None:
            message.add_attachment(attachment, maintype="application", subtype="pdf", filename="scan.pdf")
        return message

    def send(
        self,
        lab: Lab,
        to: list[str] | str,
        subject: str = "Scanned document",
        body: str = "Please find the scanned document attached.",
        *,
        attachment: bytes | None = None,
        message: EmailMessage | bytes | None = None,
        header_from: str | None = None,
    ) -> SendResult:
        """Send one message the way this device is configured; never raises for an SMTP refusal."""
        recipients = [to] if isinstance(to, str) else list(to)
        transcript = Transcript()
        result = SendResult(self.name, False, None, transcript)
        built = message is None  # the subject and header_from go into a message built here, only then
        broken = field_with_line_break(
            self, recipients, subject if built else None, header_from if built else None
        )
        if broken is not None:
            result.error = line_break_error(broken)
            transcript.note(result.error)
            _fill_outcomes(lab, result, recipients, {}, None)
            return result
        if message is None:
            built = self.build_message(recipients, subject, body, attachment)
            if header_from:
                built.replace_header("From", header_from)
            message = built
        # On the wire every line ends in CRLF (RFC 5321 §2.3.8); smtplib sends bytes as they are.
        raw = message.as_bytes(policy=SMTP_POLICY) if isinstance(message, EmailMessage) else _crlf(message)
        if lab.stopped:
            result.error = "the lab is stopped (lab.stop() ran): start a new one with Lab.start()"
            transcript.note(result.error)
            _fill_outcomes(lab, result, recipients, {}, None)
            return result
        try:
            host, port = lab.endpoint(self.server, self.port)
        except KeyError:
            result.error = (
                f"could not connect to {self.server}:{self.port}: nothing answers there "
                + ("(Microsoft 365 does not offer port 465 / implicit TLS)" if self.port == 465 else "")
            ).strip()
            transcript.note(result.error)
            _fill_outcomes(lab, result, recipients, {}, None)
            return result
        rcpt_replies: dict[str, Reply] = {}
        smtp: _RecordingSMTP | None = None
        try:
            smtp = self._connect(lab, host, port, transcript)
            self._dialogue(lab, smtp, transcript, recipients, raw, rcpt_replies, result)
        except _Refused as refused:
            result.reply = refused.reply
        except smtplib.SMTPServerDisconnected as exc:
            result.error = f"the server closed the connection ({exc})"
            transcript.note(result.error)
        except ssl.SSLError as exc:
            result.step = "TLS"
            result.error = f"TLS failed: {exc.reason or exc}"
            transcript.note(result.error)
        except (OSError, smtplib.SMTPException) as exc:
            result.error = f"connection failed: {exc}"
            transcript.note(result.error)
        finally:
            if smtp is not None:
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    smtp.close()
        _fill_outcomes(lab, result, recipients, rcpt_replies, result.message_id)
        return result

    # -- the dialogue -------------------------------------------------------------------------------
    def _connect(self, lab: Lab, host: str, port: int, transcript: Transcript) -> _RecordingSMTP:
        helo = self.helo or default_helo(self.name)
        if self.tls == "implicit":
            # A device set to implicit TLS (port 465 style) opens TLS straight away.
            raw = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
            context = self._tls_context(lab)
            transcript.note(f"the device opens TLS at once (implicit TLS) to {self.server}:{self.port}")
            wrapped = context.wrap_socket(raw, server_hostname=self.server)
            smtp = _RecordingSMTP(transcript, local_hostname=helo, timeout=CONNECT_TIMEOUT_S)
            smtp.sock = wrapped
            smtp.file = None
            code, message = smtp.getreply()
        else:
            smtp = _RecordingSMTP(transcript, local_hostname=helo, timeout=CONNECT_TIMEOUT_S)
            code, message = smtp.connect(host, port)
        if code != 220:
            raise _Refused(Reply.from_smtplib(code, message))
        return smtp

    def _tls_context(self, lab: Lab) -> ssl.SSLContext:
        cert = None
        if self.client_cert:
            cert = lab.client_certificate(self.client_cert)
        low = TLS_VERSIONS[self.tls_min_version]
        high = TLS_VERSIONS[self.tls_max_version] if self.tls_max_version else None
        return lab.ca.client_context(cert, min_version=low, max_version=high)

    def _ehlo(self, smtp: _RecordingSMTP) -> None:
        code, message = smtp.ehlo()
        if code != 250:
            raise _Refused(Reply.from_smtplib(code, message))

    def _dialogue(
        self,
        lab: Lab,
        smtp: _RecordingSMTP,
        transcript: Transcript,
        recipients: list[str],
        raw: bytes,
        rcpt_replies: dict[str, Reply],
        result: SendResult,
    ) -> None:
        # First, hidden from the learner, the lab's XCLIENT: where this device appears from. Then one EHLO,
        # as the device itself would start.
        source = self.source_ip or lab.world.network.office.public_ip
        smtp.hidden = True
        try:
            code, message = smtp.docmd("XCLIENT", f"ADDR={ipaddress.ip_address(source)}")
        finally:
            smtp.hidden = False
        if code != 220:
            raise _Refused(Reply.from_smtplib(code, message))
        transcript.note(f"this device appears as {source}")
        result.step = "EHLO"
        self._ehlo(smtp)
        if self.tls == "starttls":
            if not smtp.has_extn("starttls"):
                transcript.note("the server does not offer STARTTLS; the device goes on without TLS")
            else:
                result.step = "STARTTLS"
                code, message = smtp.docmd("STARTTLS")
                if code != 220:
                    raise _Refused(Reply.from_smtplib(code, message))
                result.step = "TLS"
                context = self._tls_context(lab)
                smtp.sock = context.wrap_socket(smtp.sock, server_hostname=self.server)  # type: ignore[arg-type]
                smtp.file = None
                version = smtp.sock.version()  # type: ignore[union-attr]
                transcript.note(f"TLS started: {version}, {smtp.sock.cipher()[0]}")  # type: ignore[union-attr,index]
                smtp.helo_resp = smtp.ehlo_resp = None
                smtp.esmtp_features = {}
                smtp.does_esmtp = False
                self._ehlo(smtp)
        if self.oauth_token or self.username:
            result.step = "AUTH"
        if self.oauth_token:
            initial = xoauth2_initial_response(self.username or self.sender, self.oauth_token)
            code, message = smtp.docmd("AUTH", f"XOAUTH2 {initial}")
            if code != 235:
                raise _Refused(Reply.from_smtplib(code, message))
        elif self.username:
            code, message = smtp.docmd("AUTH", "LOGIN")
            if code == 334:
                code, message = smtp.docmd(base64.b64encode(self.username.encode()).decode())
            if code == 334:
                code, message = smtp.docmd(base64.b64encode((self.password or "").encode()).decode())
            if code != 235:
                raise _Refused(Reply.from_smtplib(code, message))
        result.step = "MAIL"
        # Like most clients, declare the size when the server advertises SIZE (RFC 1870).
        size = f" SIZE={len(raw)}" if smtp.has_extn("size") else ""
        code, message = smtp.docmd("MAIL", f"FROM:<{self.sender}>{size}")
        if code != 250:
            raise _Refused(Reply.from_smtplib(code, message))
        result.step = "RCPT"
        for recipient in recipients:
            code, message = smtp.docmd("RCPT", f"TO:<{recipient}>")
            rcpt_replies[recipient] = Reply.from_smtplib(code, message)
        if not any(r.accepted for r in rcpt_replies.values()):
            raise _Refused(next(iter(rcpt_replies.values())))
        result.step = "DATA"
        if self.chunking and smtp.has_extn("chunking"):
            code, message = smtp.bdat(raw)  # MailKit's way: BDAT when CHUNKING is offered
        else:
            code, message = smtp.data(raw)
        final = Reply.from_smtplib(code, message)
        result.reply = final
        result.accepted = final.accepted
        if final.accepted:
            result.message_id = _message_id_of(raw)


def _crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _message_id_of(raw: bytes) -> str | None:
    from email.parser import BytesHeaderParser

    value = BytesHeaderParser().parsebytes(raw).get("Message-ID")
    return str(value).strip() if value else None


def _fill_outcomes(
    lab: Lab,
    result: SendResult,
    recipients: list[str],
    rcpt_replies: dict[str, Reply],
    message_id: str | None,
) -> None:
    for recipient in recipients:
        rcpt = rcpt_replies.get(recipient)
        if rcpt is not None and not rcpt.accepted:
            result.outcome[recipient] = Outcome(recipient, "rejected", rcpt, "at RCPT TO")
        elif not result.accepted:
            detail = f"the message was refused: {result.reply}" if result.reply else (result.error or "")
            result.outcome[recipient] = Outcome(recipient, "rejected", result.reply, detail)
        else:
            result.outcome[recipient] = lab.locate(recipient, message_id or "")


def default_helo(name: str) -> str:
    """The EHLO name a device introduces itself with when none is set: its name as one DNS label (letters,
    digits and hyphens; anything else becomes a hyphen), under `.local` (as a printer makes its host name)."""
    label = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:63].strip("-") or "device"
    return f"{label}.local"
