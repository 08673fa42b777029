"""No password or token in any log, transcript, trace, error or saved file but the world's credential store.

The lab's own credential store is `tenant.json` in the state folder (it holds the world's lab passwords by
design, as the world file does). Logging is captured at DEBUG for every logger, aiosmtpd's "mail.log"
included, while clients sign in every way there is, right and wrong, and some sign in badly.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from pathlib import Path

import pytest
from hostile_kit import MX, SCANNER, SUBMISSION, Wire

from mailflow_lab import Device, Lab
from mailflow_lab.auth.oauth import xoauth2_initial_response
from mailflow_lab.lab.readiness import lab_readiness
from mailflow_lab.store.sessions import load_sessions

ALEX = ("alex@contoso.com", "Alex#2026")
WRONG = "Wr0ng#Secret-2026"


def forms(secret: str, user: str) -> set[str]:
    """A secret as it can travel: itself, base64 in AUTH LOGIN, PLAIN and XOAUTH2, upper-cased by a log.

    Every form is looked for case-insensitively: a log or record may change the case of any of them (the
    lab once recorded the word after AUTH upper-cased, a password typed there among them).
    """
    b64 = base64.b64encode(secret.encode()).decode()
    plain = base64.b64encode(f"\0{user}\0{secret}".encode()).decode()
    xoauth2 = xoauth2_initial_response(user, secret)
    return {secret, b64, b64.upper(), plain, plain.upper(), xoauth2, xoauth2[:40], b64.rstrip("=")}


def wait_for_sessions(lab: Lab, count: int) -> None:
    """Sessions are recorded as the server sees them close, a moment after the client hung up."""
    deadline = time.monotonic() + 10
    while len(load_sessions(lab.state_dir)) < count and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in ("mail.log", "mailflow_lab", "asyncio"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def test_secrets_stay_out_of_logs_transcripts_trace_and_state(
    lab: Lab, everything_logged: pytest.LogCaptureFixture
) -> None:
    token = lab.issue_token(SCANNER[0])
    imap_token = lab.issue_token(SCANNER[0], scope="https://outlook.office.com/IMAP.AccessAsUser.All")
    secrets = forms(SCANNER[1], SCANNER[0]) | forms(ALEX[1], ALEX[0]) | forms(WRONG, SCANNER[0])
    secrets |= forms(token, SCANNER[0]) | forms(imap_token, SCANNER[0])
    lab.powershell(f"Set-CASMailbox -Identity {ALEX[0]} -SmtpClientAuthenticationDisabled $false")

    results = []
    base = {"server": SUBMISSION, "port": 587, "tls": "starttls"}
    for user, password, oauth in [
        (*SCANNER, None),  # signs in
        (ALEX[0], ALEX[1], None),  # signs in
        (SCANNER[0], WRONG, None),  # 535 5.7.3
        ("nobody@contoso.com", WRONG, None),
        (SCANNER[0], None, token),  # XOAUTH2
        (SCANNER[0], None, imap_token),  # XOAUTH2 with the wrong permission: 535
    ]:
        device = Device("Device", username=user, password=password, oauth_token=oauth, sender=user, **base)
        results.append(device.send(lab, to=["alex@contoso.com", "pat@fabrikam.com"], subject="secret?"))
    # A device that tries to sign in at the MX, and one before STARTTLS.
    signing_in = {"username": SCANNER[0], "password": SCANNER[1], "sender": SCANNER[0]}
    at_the_mx = Device("MX", server=MX, port=25, tls="none", **signing_in)
    results.append(at_the_mx.send(lab, to=["alex@contoso.com"]))
    no_tls = Device("No TLS", server=SUBMISSION, port=587, tls="none", **signing_in)
    results.append(no_tls.send(lab, to=["alex@contoso.com"]))

    # Clients that sign in badly: initial responses, PLAIN (not offered), a password sent as a command
    # after a refusal, a password as an answer to nothing, mechanisms with the secret as their name.
    b64 = base64.b64encode
    with Wire(lab.endpoint(SUBMISSION, 587)) as wire:
        wire.ehlo()
        wire.cmd(b"AUTH LOGIN " + b64(SCANNER[0].encode()))  # 504 before STARTTLS
        wire.cmd(b64(SCANNER[1].encode()))  # ... and the client sends its password anyway
        wire.cmd(SCANNER[1])
        wire.cmd("AUTH PLAIN " + b64(f"\0{SCANNER[0]}\0{SCANNER[1]}".encode()).decode())
    with Wire(lab.endpoint(SUBMISSION, 587)) as wire:
        wire.ehlo()
        wire.starttls(lab, SUBMISSION)
        wire.ehlo()
        wire.cmd("AUTH PLAIN " + b64(f"\0{SCANNER[0]}\0{SCANNER[1]}".encode()).decode())
        wire.cmd(f"AUTH\t{b64(SCANNER[1].encode()).decode()}")
        wire.cmd(f"AUTH {SCANNER[1]}")  # the password where the mechanism goes
        wire.cmd(f"AUTH {WRONG} {SCANNER[0]}")
        assert wire.auth_login(SCANNER[0], WRONG).startswith("535")
        wire.cmd("AUTH XOAUTH2 " + xoauth2_initial_response(SCANNER[0], token))
    with Wire(lab.endpoint(MX, 25)) as wire:
        wire.ehlo()
        wire.cmd("AUTH XOAUTH2 " + xoauth2_initial_response(SCANNER[0], token))
        wire.cmd(b64(SCANNER[1].encode()))
        wire.cmd(f"AUTH {SCANNER[1]}")

    assert any(r.accepted for r in results) and not all(r.accepted for r in results)

    # Logs, at DEBUG, of every logger: what the records say and any traceback they carry.
    logged = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in everything_logged.records
    )
    assert logged, "nothing was logged: the capture is not working"
    # Transcripts (text and the notebook view), replies, errors, explanations.
    shown = "\n".join(
        "\n".join([r.transcript.text(), r._repr_html_(), str(r), repr(r.reply), str(r.error), str(r.outcome)])
        for r in results
    )
    # The message trace, as records and as the state folder's file.
    traced = json.dumps([record.to_dict() for record in lab.message_trace()])
    errors = "\n".join(lab.runtime.errors)
    state_files = {
        path: path.read_bytes().decode("utf-8", "replace")
        for path in Path(lab.state_dir).rglob("*")
        if path.is_file() and path.name != "tenant.json"
    }
    assert Path(lab.state_dir, "trace.jsonl") in state_files
    # The session records (sessions.jsonl, read by `mailflow-lab report`) name the mechanisms and the user
    # names tried, never what followed them; the loop below checks every secret against them too.
    wait_for_sessions(lab, 10)
    state_files[Path(lab.state_dir, "sessions.jsonl")] = Path(lab.state_dir, "sessions.jsonl").read_text()
    recorded = [r for r in load_sessions(lab.state_dir) if r.auth]
    mechanisms = {a.mechanism for r in recorded for a in r.auth}
    assert mechanisms == {"LOGIN", "PLAIN", "XOAUTH2", "(unrecognised)"}, mechanisms
    assert any(a.user == SCANNER[0] and a.reply and a.reply.code == 535 for r in recorded for a in r.auth)
    readiness = lab_readiness(lab).to_json() + lab_readiness(lab).text()
    assert "AUTH (unrecognised): 504 5.7.4" in readiness
    logged, shown, traced, errors, readiness = (
        t.casefold() for t in (logged, shown, traced, errors, readiness)
    )
    state_files = {path: text.casefold() for path, text in state_files.items()}
    for secret in sorted(secrets):
        folded = secret.casefold()
        assert folded not in logged, f"a secret in the logs: {secret!r}"
        assert folded not in shown, f"a secret in a transcript or result: {secret!r}"
        assert folded not in traced, f"a secret in the message trace: {secret!r}"
        assert folded not in errors, f"a secret in lab.runtime.errors: {secret!r}"
        assert folded not in readiness, f"a secret in the readiness report: {secret!r}"
        for path, text in state_files.items():
            assert folded not in text, f"a secret (in any case) in {path}"
    # The credential store does hold the lab passwords (and only there); tokens are never stored.
    store = Path(lab.state_dir, "tenant.json").read_text(encoding="utf-8")
    assert SCANNER[1] in store and token not in store


def test_the_lab_refuses_a_login_it_cannot_decode_without_echoing_it(lab: Lab) -> None:
    """Errors name what went wrong, not what the client typed."""
    with Wire(lab.endpoint(SUBMISSION, 587)) as wire:
        wire.ehlo()
        wire.starttls(lab, SUBMISSION)
        wire.ehlo()
        reply = wire.cmd("AUTH XOAUTH2 !!" + SCANNER[1])
        assert reply.startswith("501 5.5.2") and SCANNER[1] not in reply
        assert wire.cmd("AUTH LOGIN").startswith("334")
        assert wire.cmd(SCANNER[0]).startswith("334")  # not base64: read as nothing
        reply = wire.cmd(SCANNER[1] + "\x00\xff")
        assert reply.startswith("535 5.7.3") and SCANNER[1] not in reply
    assert lab.runtime.errors == []


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        (f"AUTH {SCANNER[1]}", "AUTH (unrecognised)"),
        (f"AUTH {SCANNER[1]} more", "AUTH (unrecognised) ********"),
        ("AUTH plain AHNjYW5uZXI=", "AUTH PLAIN ********"),
        ("AUTH LOGIN", "AUTH LOGIN"),
    ],
)
def test_a_transcript_shows_no_word_typed_as_the_auth_mechanism(line: str, shown: str) -> None:
    """A client may type its password where the mechanism goes: the transcript names known ones only."""
    from mailflow_lab.client.transcript import Transcript

    transcript = Transcript()
    transcript.client(line)
    assert [entry.text for entry in transcript.lines] == [shown]
    assert SCANNER[1].lower() not in transcript.text().lower()
