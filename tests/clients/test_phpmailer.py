"""PHPMailer (php-cli, Debian's libphp-phpmailer) against the lab: the ErrorInfo apps show, where mail landed.

Each test writes a small PHP script to tmp_path and runs it with `php`. PHPMailer is used as WordPress plugins
and most PHP apps use it: SMTPSecure 'tls' (STARTTLS) on 587, SMTPAuth with Username/Password, SMTPDebug off,
and `$mail->ErrorInfo` read after send() returns false. TLS is checked against the world host name with the
lab CA (SMTPOptions ssl cafile and peer_name): verification stays on.

What PHPMailer 6.6 shows differs by step. A refused AUTH is not in ErrorInfo at all: smtpConnect() catches its
own "Could not authenticate" and send() reports "SMTP connect() failed." (with exceptions on, the exception
says "SMTP Error: Could not authenticate."); the 535 line is only in the SMTPDebug output. A refused MAIL FROM
is quoted whole in ErrorInfo, three times: setError() appends the SMTP error to a message that already quotes
it, and send() passes that message to setError() once more.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from clients_kit import ALEX, RUN_TIMEOUT_S, SCANNER, SUBMISSION, SUFFIX

from mailflow_lab import Lab
from mailflow_lab.policy import replies as R
from mailflow_lab.policy.reply import Reply
from real_clients import executable, needs

pytestmark = needs("phpmailer")

PHP = executable("php") or "php"
CONNECT_FAILED = "SMTP connect() failed. https://github.com/PHPMailer/PHPMailer/wiki/Troubleshooting"

# send() once as configured; for a failure also with exceptions on, and with SMTPDebug = DEBUG_SERVER into an
# array (never printed by PHPMailer itself), so the test sees what each mode shows.
SCRIPT = r"""<?php
require '/usr/share/php/libphp-phpmailer/autoload.php';
use PHPMailer\PHPMailer\PHPMailer;
use PHPMailer\PHPMailer\SMTP;
use PHPMailer\PHPMailer\Exception;
use PHPMailer\PHPMailer\OAuthTokenProvider;

final class Bearer implements OAuthTokenProvider {
    public function __construct(private string $user, private string $token) {}
    public function getOauth64(): string {
        return base64_encode("user={$this->user}\001auth=Bearer {$this->token}\001\001");
    }
}

$cfg = json_decode(file_get_contents($argv[1]), true);
function mailer(array $cfg, bool $exceptions): PHPMailer {
    $mail = new PHPMailer($exceptions);
    $mail->isSMTP();
    $mail->Host = $cfg['host'];
    $mail->Port = $cfg['port'];
    $mail->Hostname = 'wordpress.contoso.local';
    $mail->Timeout = 20;
    $mail->SMTPDebug = SMTP::DEBUG_OFF;
    $mail->SMTPSecure = PHPMailer::ENCRYPTION_STARTTLS;
    $mail->SMTPAuth = $cfg['user'] !== null;
    if ($cfg['token'] !== null) {
        $mail->AuthType = 'XOAUTH2';
        $mail->setOAuth(new Bearer($cfg['user'], $cfg['token']));
    } elseif ($mail->SMTPAuth) {
        $mail->Username = $cfg['user'];
        $mail->Password = $cfg['password'];
    }
    $mail->SMTPOptions = ['ssl' => ['cafile' => $cfg['ca'], 'peer_name' => $cfg['peer_name']]];
    $mail->setFrom($cfg['from']);
    $mail->addAddress($cfg['to']);
    $mail->Subject = $cfg['subject'];
    $mail->Body = 'Your order has shipped.';
    return $mail;
}

$mail = mailer($cfg, false);
$out = ['ok' => $mail->send(), 'ErrorInfo' => $mail->ErrorInfo, 'messageId' => $mail->getLastMessageID()];
if (!$out['ok']) {
    try {
        mailer($cfg, true)->send();
        $out['exception'] = null;
    } catch (Exception $e) {
        $out['exception'] = $e->getMessage();
    }
    $debug = mailer($cfg, false);
    $lines = [];
    $debug->SMTPDebug = SMTP::DEBUG_SERVER;
    $debug->Debugoutput = function (string $line, int $level) use (&$lines): void {
        $lines[] = rtrim($line);
    };
    $debug->send();
    $out['debug'] = $lines;
}
echo json_encode($out), "\n";
"""


@pytest.fixture
def phpmailer(lab: Lab, tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """Send one message with PHPMailer to smtp.office365.com:587 (STARTTLS); the script's JSON back."""
    ca = lab.ca.write_ca(tmp_path / "lab-ca.pem")
    script = tmp_path / "send.php"
    script.write_text(SCRIPT)
    host, port = lab.endpoint(*SUBMISSION)

    def send(
        sender: str, to: str, subject: str, user: str | None, password: str = "", token: str | None = None
    ) -> dict[str, Any]:
        config = tmp_path / f"{uuid.uuid4().hex}.json"
        config.write_text(json.dumps({
            "host": host, "port": port, "peer_name": SUBMISSION[0], "ca": str(ca), "from": sender, "to": to,
            "subject": subject, "user": user, "password": password, "token": token,
        }))  # fmt: skip
        done = subprocess.run(
            [PHP, str(script), str(config)],
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
        assert done.returncode == 0 and done.stdout, done.stdout + done.stderr
        return json.loads(done.stdout)

    return send


def short(line: str) -> str:
    reply = Reply.from_text(line)
    return f"{reply.code} {reply.enhanced}"


@pytest.fixture
def subject(request: pytest.FixtureRequest) -> str:
    return f"phpmailer {request.node.name} {uuid.uuid4().hex[:8]}"


def test_submission_with_auth_login(
    lab: Lab, phpmailer: Callable[..., dict[str, Any]], landed: Callable, matrix: Callable, subject: str
) -> None:
    result = phpmailer(SCANNER[0], ALEX[0], subject, *SCANNER)

    assert (result["ok"], result["ErrorInfo"]) == (True, ""), result
    assert lab.locate(ALEX[0], result["messageId"]).where == "Inbox"
    landing = landed(lab, subject)
    assert landing.places == ("alex@contoso.com Inbox", "scanner@contoso.com Sent Items")
    matrix("PHPMailer", "587 STARTTLS (SMTPSecure tls), SMTPAuth LOGIN, internal recipient",
           f"send() {str(result['ok']).lower()}, ErrorInfo empty; {landing}")  # fmt: skip


def test_submission_with_xoauth2_to_an_external_recipient(
    lab: Lab, phpmailer: Callable[..., dict[str, Any]], landed: Callable, matrix: Callable, subject: str
) -> None:
    token = lab.issue_token(SCANNER[0])
    result = phpmailer(SCANNER[0], "pat@fabrikam.com", subject, SCANNER[0], token=token)

    assert (result["ok"], result["ErrorInfo"]) == (True, ""), result
    landing = landed(lab, subject)
    assert landing.places == ("pat@fabrikam.com Inbox", "scanner@contoso.com Sent Items")
    matrix("PHPMailer", "587 STARTTLS, AuthType XOAUTH2 (setOAuth), external recipient",
           f"send() {str(result['ok']).lower()}, ErrorInfo empty; {landing}")  # fmt: skip


def test_smtp_auth_disabled_is_not_in_error_info(
    lab: Lab, phpmailer: Callable[..., dict[str, Any]], landed: Callable, matrix: Callable, subject: str
) -> None:
    # alex@contoso.com follows the tenant, where SMTP AUTH is disabled (contoso.toml): 535 5.7.139 at AUTH.
    result = phpmailer(ALEX[0], ALEX[0], subject, *ALEX)

    assert result["ok"] is False
    assert result["ErrorInfo"] == CONNECT_FAILED  # what the app shows: no code, no text from the server
    assert result["exception"] == "SMTP Error: Could not authenticate."
    refused = [line for line in result["debug"] if line.startswith("SERVER -> CLIENT: 535 ")]
    assert len(refused) == 1, result["debug"]
    reply = refused[0].removeprefix("SERVER -> CLIENT: ")
    assert re.fullmatch(re.escape(str(R.AUTH_DISABLED_TENANT)) + SUFFIX, reply), reply
    assert f"SMTP ERROR: Password command failed: {reply}" in result["debug"]
    landing = landed(lab, subject)
    assert landing.places == ()
    matrix("PHPMailer", "587 STARTTLS, SMTPAuth LOGIN, SMTP AUTH disabled for the tenant",
           f"ErrorInfo '{result['ErrorInfo'].split('. ')[0]}.'; {short(reply)} text only in SMTPDebug "
           f"output; {landing}")  # fmt: skip


def test_anonymous_submission_is_quoted_in_error_info(
    lab: Lab, phpmailer: Callable[..., dict[str, Any]], landed: Callable, matrix: Callable, subject: str
) -> None:
    result = phpmailer(
        SCANNER[0], ALEX[0], subject, None
    )  # STARTTLS, SMTPAuth false: 530 5.7.57 at MAIL FROM

    assert result["ok"] is False
    text = R.not_authenticated(None).text
    # PHPMailer takes the reply apart: "<text>\r\n" as detail, then the code and the enhanced code.
    detail = rf"{re.escape(text)}{SUFFIX}\r\n"
    smtp_error = "SMTP server error: MAIL FROM command failed Detail: " + detail
    smtp_error += r" SMTP code: 530 Additional SMTP info: 5\.7\.57"
    expected = r"The following From address failed: scanner@contoso\.com : MAIL FROM command failed,"
    expected += detail + r",530,5\.7\.57"
    assert re.fullmatch(expected + smtp_error + smtp_error, result["ErrorInfo"]), result["ErrorInfo"]
    # With exceptions on, the exception is the message before send() appends the SMTP error to it once more.
    assert re.fullmatch(expected + smtp_error, result["exception"]), result["exception"]
    quoted = re.findall(
        r"SMTP code: (\d{3}) Additional SMTP info: (\d\.\d{1,3}\.\d{1,3})", result["ErrorInfo"]
    )
    assert quoted == [("530", "5.7.57")] * 2
    landing = landed(lab, subject)
    assert landing.places == ()
    matrix("PHPMailer", "587 STARTTLS, SMTPAuth false",
           f"ErrorInfo quotes {' '.join(quoted[0])} and its text ({result['ErrorInfo'].count(text)} times); "
           f"{landing}")  # fmt: skip
