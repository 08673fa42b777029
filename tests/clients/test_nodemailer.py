"""nodemailer (Node.js) against the lab: the result or error object an app sees, and where the message landed.

Each test writes a small Node script to tmp_path and runs it with `node`; it requires nodemailer from the
node_modules of `make clients` (NODE_PATH) and prints JSON: the info object of a sent message, or the fields
nodemailer puts on its error (message, code, response, responseCode, command). nodemailer connects to the
lab's loopback port with tls.servername set to the world host name and the lab CA in tls.ca: verification
stays on (rejectUnauthorized is left at its default, true).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from clients_kit import ALEX, MX, RUN_TIMEOUT_S, SCANNER, SUBMISSION, SUFFIX

from mailflow_lab import Lab
from mailflow_lab.policy import replies as R
from mailflow_lab.policy.reply import Reply
from real_clients import executable, needs, node_modules

pytestmark = needs("node")

NODE = executable("node") or "node"

SCRIPT = """\
const fs = require('fs');
const nodemailer = require('nodemailer');
const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
cfg.transport.tls = Object.assign(cfg.transport.tls || {}, {ca: [fs.readFileSync(cfg.ca)]});
nodemailer.createTransport(cfg.transport).sendMail(cfg.message).then(
  (info) => console.log(JSON.stringify({ok: true, info})),
  (err) => console.log(JSON.stringify({ok: false, error: {
    message: err.message, code: err.code, response: err.response, responseCode: err.responseCode,
    command: err.command}})));
"""


@pytest.fixture
def nodemailer(lab: Lab, tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """Send one message with nodemailer: ``nodemailer(endpoint, message, **transport_options)``."""
    ca = lab.ca.write_ca(tmp_path / "lab-ca.pem")
    script = tmp_path / "send.js"
    script.write_text(SCRIPT)

    def send(endpoint: tuple[str, int], message: dict[str, str], **options: Any) -> dict[str, Any]:
        host, port = lab.endpoint(*endpoint)
        transport = {"host": host, "port": port, "name": "app.contoso.local", "connectionTimeout": 20000}
        transport |= {"tls": {"servername": endpoint[0]}, **options}  # the certificate name to check
        config = tmp_path / f"{uuid.uuid4().hex}.json"
        config.write_text(json.dumps({"transport": transport, "message": message, "ca": str(ca)}))
        env = {**os.environ, "NODE_PATH": str(node_modules())}
        done = subprocess.run(
            [NODE, str(script), str(config)], capture_output=True, text=True, env=env, timeout=RUN_TIMEOUT_S
        )
        assert done.returncode == 0 and done.stdout, done.stderr
        return json.loads(done.stdout)

    return send


@pytest.fixture
def subject(request: pytest.FixtureRequest) -> str:
    return f"nodemailer {request.node.name} {uuid.uuid4().hex[:8]}"


def message(sender: str, to: str, subject: str) -> dict[str, str]:
    return {"from": sender, "to": to, "subject": subject, "text": "Nightly report attached."}


def short(line: str) -> str:
    reply = Reply.from_text(line)
    return f"{reply.code} {reply.enhanced}"


def submission(**auth: Any) -> dict[str, Any]:
    """Port 587 as apps set it: STARTTLS required (secure false, requireTLS true), then AUTH."""
    return {"secure": False, "requireTLS": True, **auth}


def test_starttls_and_auth_login(
    lab: Lab, nodemailer: Callable[..., dict[str, Any]], landed: Callable, matrix: Callable, subject: str
) -> None:
    login = {"auth": {"user": SCANNER[0], "pass": SCANNER[1]}, "authMethod": "LOGIN"}
    result = nodemailer(SUBMISSION, message(SCANNER[0], ALEX[0], subject), **submission(**login))

    assert result["ok"], result
    info = result["info"]
    assert info["accepted"] == [ALEX[0]] and info["rejected"] == []
    assert "AUTH LOGIN XOAUTH2" in info["ehlo"]  # the EHLO after STARTTLS, as nodemailer keeps it
    mid = info["messageId"]
    assert re.fullmatch(re.escape(f"250 2.0.0 OK {mid} [Hostname=") + r"\S+\]", info["response"]), info
    assert lab.locate(ALEX[0], mid).where == "Inbox"
    landing = landed(lab, subject)
    assert landing.places == ("alex@contoso.com Inbox", "scanner@contoso.com Sent Items")
    matrix("nodemailer", "587 STARTTLS (requireTLS), authMethod LOGIN, internal recipient",
           f"info.response {short(info['response'])}; {landing}")  # fmt: skip


def test_oauth2_xoauth2_to_an_external_recipient(
    lab: Lab, nodemailer: Callable[..., dict[str, Any]], landed: Callable, matrix: Callable, subject: str
) -> None:
    auth = {"type": "OAuth2", "user": SCANNER[0], "accessToken": lab.issue_token(SCANNER[0])}
    result = nodemailer(SUBMISSION, message(SCANNER[0], "pat@fabrikam.com", subject), **submission(auth=auth))

    assert result["ok"], result
    assert result["info"]["accepted"] == ["pat@fabrikam.com"]
    landing = landed(lab, subject)
    assert landing.places == ("pat@fabrikam.com Inbox", "scanner@contoso.com Sent Items")
    [record] = lab.message_trace(recipient="pat@fabrikam.com")
    assert record.status == "Delivered"
    matrix("nodemailer", "587 STARTTLS, OAuth2 accessToken (XOAUTH2), external recipient",
           f"info.response {short(result['info']['response'])}; {landing}")  # fmt: skip


def test_direct_send_to_an_internal_recipient(
    lab: Lab, nodemailer: Callable[..., dict[str, Any]], landed: Callable, matrix: Callable, subject: str
) -> None:
    # No auth, port 25: nodemailer upgrades with STARTTLS on its own when it is offered (the MX offers it).
    result = nodemailer(MX, message("printer@contoso.com", ALEX[0], subject))

    assert result["ok"], result
    info = result["info"]
    assert "STARTTLS" not in info["ehlo"]  # the EHLO nodemailer kept is the one after STARTTLS
    assert info["response"].startswith(f"250 2.6.0 {info['messageId']} [InternalId="), info
    assert info["response"].endswith(" Queued mail for delivery"), info
    landing = landed(lab, subject)
    assert landing.places == ("alex@contoso.com Junk Email",)  # the office NAT address fails SPF
    assert lab.locate(ALEX[0], info["messageId"]).where == "Junk Email"
    spf = spf_verdict(lab, ALEX[0], "Junk Email", subject)
    assert spf == "fail"
    matrix("nodemailer", "MX port 25, no auth (opportunistic STARTTLS), internal recipient",
           f"info.response {short(info['response'])}; {landing} (spf={spf})")  # fmt: skip


def error_row(error: dict[str, Any], lab: Lab, landed: Callable, subject: str) -> str:
    """The matrix result of a refused send: the error's code, and which of its fields carry the reply text."""
    text = Reply.from_text(error["response"]).without_diagnostics().text
    fields = [f"err.{name}" for name in ("response", "message") if text in error[name]]
    return (
        f"{error['code']} {short(error['response'])}, text in {' and '.join(fields)}; {landed(lab, subject)}"
    )


def spf_verdict(lab: Lab, address: str, folder: str, subject: str) -> str:
    """The spf= verdict Microsoft 365 stamped on the message (its Authentication-Results header)."""
    [found] = [m for m in lab.mailbox(address).folder(folder) if m["Subject"] == subject]
    verdict = re.match(r"spf=(\w+)", str(found["Authentication-Results"]))
    assert verdict, found["Authentication-Results"]
    return verdict[1]


@pytest.mark.parametrize(
    ("option", "setup", "login", "expected"),
    [
        (
            "587 STARTTLS, authMethod LOGIN, SMTP AUTH disabled for the tenant",
            None,
            ALEX,
            R.AUTH_DISABLED_TENANT,
        ),
        (
            "587 STARTTLS, authMethod LOGIN, basic authentication disabled",
            "basic",
            SCANNER,
            R.AUTH_BASIC_DISABLED,
        ),
    ],
    ids=["smtp-auth-disabled", "basic-auth-disabled"],
)
def test_refused_sign_in_is_in_the_error(
    lab: Lab, nodemailer: Callable[..., dict[str, Any]], landed: Callable, matrix: Callable, subject: str,
    option: str, setup: str | None, login: tuple[str, str], expected: Reply,
) -> None:  # fmt: skip
    if setup == "basic":  # an authentication policy that blocks basic auth (no cmdlet for it in the lab yet)
        lab.world.tenant.settings.basic_auth_disabled = True
    auth = {"auth": {"user": login[0], "pass": login[1]}, "authMethod": "LOGIN"}
    result = nodemailer(SUBMISSION, message(login[0], ALEX[0], subject), **submission(**auth))

    assert not result["ok"], result
    error = result["error"]
    assert (error["code"], error["responseCode"], error["command"]) == ("EAUTH", 535, "AUTH LOGIN")
    assert re.fullmatch(re.escape(str(expected)) + SUFFIX, error["response"]), error
    assert error["message"] == f"Invalid login: {error['response']}"  # the reply, whole, in err.message
    assert landed(lab, subject).places == ()
    matrix("nodemailer", option, error_row(error, lab, landed, subject))


def test_xoauth2_still_works_when_basic_authentication_is_disabled(
    lab: Lab, nodemailer: Callable[..., dict[str, Any]], landed: Callable, matrix: Callable, subject: str
) -> None:
    lab.world.tenant.settings.basic_auth_disabled = True
    auth = {"type": "OAuth2", "user": SCANNER[0], "accessToken": lab.issue_token(SCANNER[0])}
    result = nodemailer(SUBMISSION, message(SCANNER[0], ALEX[0], subject), **submission(auth=auth))

    assert result["ok"], result
    landing = landed(lab, subject)
    assert landing.places == ("alex@contoso.com Inbox", "scanner@contoso.com Sent Items")
    matrix("nodemailer", "587 STARTTLS, OAuth2 accessToken (XOAUTH2), basic authentication disabled",
           f"info.response {short(result['info']['response'])}; {landing}")  # fmt: skip


@pytest.mark.parametrize(
    ("option", "endpoint", "to", "expected", "command"),
    [
        ("587 STARTTLS, no auth", SUBMISSION, ALEX[0], R.not_authenticated(None), "MAIL FROM"),
        (
            "MX port 25, no auth (opportunistic STARTTLS), external recipient",
            MX,
            "pat@fabrikam.com",
            R.RELAY_DENIED,
            "RCPT TO",
        ),
    ],
    ids=["anonymous-submission", "direct-send-external"],
)
def test_envelope_refusal_is_in_the_error(
    lab: Lab, nodemailer: Callable[..., dict[str, Any]], landed: Callable, matrix: Callable, subject: str,
    option: str, endpoint: tuple[str, int], to: str, expected: Reply, command: str,
) -> None:  # fmt: skip
    options = submission() if endpoint == SUBMISSION else {}
    result = nodemailer(endpoint, message("printer@contoso.com", to, subject), **options)

    assert not result["ok"], result
    error = result["error"]
    assert (error["code"], error["responseCode"], error["command"]) == ("EENVELOPE", expected.code, command)
    assert re.fullmatch(re.escape(str(expected)) + SUFFIX, error["response"]), error
    # nodemailer's message words the step its own way, then quotes the reply.
    lead = (
        "Mail command failed: "
        if command == "MAIL FROM"
        else "Can't send mail - all recipients were rejected: "
    )
    assert error["message"] == lead + error["response"]
    assert landed(lab, subject).places == ()
    assert lab.message_trace(sender="printer@contoso.com") == []
    matrix("nodemailer", option, error_row(error, lab, landed, subject))
