"""Issue 18, finding 9's small ones: ps escapes, line breaks in a send, the MX's 504, Bcc, orphan locks."""

from __future__ import annotations

import smtplib
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_kit import MX, SCANNER, SUBMISSION

from mailflow_lab import Lab
from mailflow_lab.cli import main
from mailflow_lab.client.device import Device
from mailflow_lab.policy import replies as R
from mailflow_lab.policy.explain import explain
from mailflow_lab.store.statedir import LOCK_FILE, OWNER_FILE, PREFIX, remove_orphans

ESC = "\x1b"


def _dead_pid() -> int:
    """A PID that was a process a moment ago and is none now."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    return child.pid


# -- a. `mailflow-lab ps` never prints a terminal escape sequence --------------------------------------
def test_ps_shows_an_escape_sequence_in_a_traced_subject_escaped(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    subject = f"{ESC}]0;pwned{ESC}\\{ESC}[2J{ESC}[31mred\x9b1m\x07"
    raw = (
        f"From: printer@contoso.com\r\nTo: alex@contoso.com\r\nSubject: {subject}\r\n"
        "Message-ID: <esc-1@contoso.com>\r\n\r\nhello\r\n"
    ).encode()
    with smtplib.SMTP(*lab.endpoint(MX, 25)) as smtp:
        smtp.sendmail("printer@contoso.com", ["alex@contoso.com"], raw)
    lab.settle()
    capsys.readouterr()
    assert main(["ps", "--state", str(lab.state_dir), "Get-MessageTrace | Format-List"]) == 0
    out, err = capsys.readouterr()
    printed = out + err
    assert "pwned" in printed and "red" in printed  # the subject is shown...
    assert ESC not in printed and "\x9b" not in printed and "\x07" not in printed  # ...defused
    assert "\\x1b]0;pwned" in printed


def test_ps_echoes_an_escape_sequence_in_its_own_input_escaped(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["ps", "--state", str(lab.state_dir), f"Get-Mailbox -Identity {ESC}[31mnobody"])
    out, err = capsys.readouterr()
    assert ESC not in out + err


# -- b. a line break in a field: a result that names it, and nothing sent -------------------------------
@pytest.mark.parametrize(
    ("field", "changes", "subject"),
    [
        ("subject", {}, "Scan\r\nBcc: victim@fabrikam.com"),
        ("sender", {"sender": "scanner@contoso.com\r\nRCPT TO:<pat@fabrikam.com>"}, "Scan"),
        ("recipient", {}, "Scan"),
    ],
)
def test_a_line_break_in_a_field_is_a_result_naming_it(
    lab: Lab, field: str, changes: dict[str, str], subject: str
) -> None:
    settings = {
        "name": "Scanner",
        "server": SUBMISSION,
        "port": 587,
        "username": SCANNER[0],
        "password": SCANNER[1],
        "sender": SCANNER[0],
        **changes,
    }
    to = "alex@contoso.com\nDATA" if field == "recipient" else "alex@contoso.com"
    result = Device(**settings).send(lab, to, subject=subject)  # type: ignore[arg-type]
    assert not result.accepted and result.reply is None
    assert result.error is not None and f"the {field} holds a line break" in result.error
    assert all(o.where == "rejected" for o in result.outcome.values())
    assert explain(None, error=result.error).rule == "device.line-break"
    lab.settle()
    assert lab.runtime.trace.records() == []  # nothing was sent
    assert lab.mailbox("alex@contoso.com").folder("Inbox") == []


def test_the_explorer_shows_a_line_break_instead_of_failing(lab: Lab) -> None:
    pytest.importorskip("ipywidgets")
    from mailflow_lab.ui.explorer import ScenarioExplorer

    explorer = ScenarioExplorer(lab, draw=False)
    explorer.controls["sender"].value = "scanner@contoso.com\r\nRCPT TO:<pat@fabrikam.com>"
    explorer._on_click(explorer.send_button)
    assert "could not run" not in explorer.outcome.value
    assert "the sender holds a line break" in explorer.outcome.value
    assert explorer.last_result is not None and not explorer.last_result.accepted


# -- c. the MX's 504 is the MX's ----------------------------------------------------------------------
def test_the_mx_504_names_the_mx_host_and_is_explained_as_the_mx(lab: Lab) -> None:
    with smtplib.SMTP(*lab.endpoint(MX, 25)) as smtp:
        smtp.ehlo("printer.local")
        code, text = smtp.docmd("AUTH", "LOGIN")
    line = text.decode()
    assert code == 504 and line.startswith("5.7.4 Unrecognized authentication type [")
    assert R.diagnostic_host(R.MX_FQDN) in line
    assert R.SUBMISSION_HOST not in line and R.SUBMISSION_DIAG not in line
    found = explain(R.Reply(code, "5.7.4", line.removeprefix("5.7.4 ")))
    assert found.rule == "mx.auth-not-offered"
    assert R.SUBMISSION_HOST not in found.headline and "smtp.office365.com" not in found.headline
    with smtplib.SMTP(*lab.endpoint(SUBMISSION, 587)) as smtp:  # on submission it stays submission's
        smtp.ehlo("printer.local")
        code, text = smtp.docmd("AUTH", "LOGIN")
    assert code == 504 and R.SUBMISSION_DIAG in text.decode()
    found = explain(R.Reply(code, "5.7.4", text.decode().removeprefix("5.7.4 ")))
    assert found.rule.startswith("submission.")


# -- d. Bcc: gone from the recipients' copies, kept in Sent Items ---------------------------------------
def test_bcc_is_removed_from_recipient_copies_and_kept_in_sent_items(lab: Lab) -> None:
    raw = (
        f"From: {SCANNER[0]}\r\nTo: alex@contoso.com\r\nBcc: helpdesk@contoso.com,\r\n pat@fabrikam.com\r\n"
        "Subject: quiet copy\r\nMessage-ID: <bcc-1@contoso.com>\r\n\r\nhello\r\n"
    ).encode()
    with smtplib.SMTP(*lab.endpoint(SUBMISSION, 587)) as smtp:
        smtp._host = SUBMISSION  # the name the certificate is checked against
        smtp.starttls(context=lab.ca.client_context())
        smtp.login(*SCANNER)
        smtp.sendmail(SCANNER[0], ["alex@contoso.com", "helpdesk@contoso.com", "pat@fabrikam.com"], raw)
    lab.settle()
    for address in ("alex@contoso.com", "helpdesk@contoso.com", "pat@fabrikam.com"):
        copies = lab.mailbox(address).folder("Inbox")
        assert [m["Subject"] for m in copies] == ["quiet copy"], address
        assert copies[0]["Bcc"] is None and b"pat@fabrikam.com" not in copies[0].get_payload(decode=True)
    sent = lab.mailbox(SCANNER[0]).folder("Sent Items")
    assert len(sent) == 1 and "helpdesk@contoso.com" in str(sent[0]["Bcc"])


def test_bcc_is_removed_from_what_the_mx_delivers(lab: Lab) -> None:
    raw = (
        b"From: printer@contoso.com\r\nTo: alex@contoso.com\r\nBcc: helpdesk@contoso.com\r\n"
        b"Subject: inbound bcc\r\nMessage-ID: <bcc-2@fabrikam.com>\r\n\r\nhello\r\n"
    )
    with smtplib.SMTP(*lab.endpoint(MX, 25)) as smtp:
        smtp.sendmail("printer@contoso.com", ["alex@contoso.com", "helpdesk@contoso.com"], raw)
    lab.settle()
    for address in ("alex@contoso.com", "helpdesk@contoso.com"):
        copies = [m for f in ("Inbox", "Junk Email") for m in lab.mailbox(address).folder(f)]
        assert len(copies) == 1 and copies[0]["Bcc"] is None, address


# -- e. orphan clean-up: the lock file, not only the PID ------------------------------------------------
HOLDER = (
    "import fcntl, os, sys, time\n"
    "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)\n"
    "fcntl.flock(fd, fcntl.LOCK_EX)\n"
    "print('held', flush=True)\n"
    "time.sleep(60)\n"
)


def _orphan_like(root: Path, name: str, pid: int) -> Path:
    folder = root / f"{PREFIX}{name}"
    folder.mkdir()
    (folder / OWNER_FILE).write_text(str(pid), encoding="ascii")
    return folder


def test_a_folder_whose_lock_another_process_holds_is_never_removed(tmp_path: Path) -> None:
    dead = _dead_pid()
    held = _orphan_like(tmp_path, "other-namespace", dead)  # its PID: none here (another namespace's)
    free = _orphan_like(tmp_path, "really-gone", dead)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(held / LOCK_FILE)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert remove_orphans(tmp_path) == [free]
        assert held.exists() and not free.exists()
    finally:
        holder.kill()
        holder.wait(timeout=30)
        if holder.stdout is not None:
            holder.stdout.close()
    assert remove_orphans(tmp_path) == [held]  # its holder gone: now it is an orphan
    assert not held.exists()


def test_a_running_lab_holds_its_folders_lock_until_it_stops() -> None:
    with Lab.start() as lab:
        state = lab.state_dir
        assert (state / LOCK_FILE).exists()
        probe = subprocess.run(
            [sys.executable, "-c", "import fcntl, os, sys\nfd = os.open(sys.argv[1], os.O_RDWR)\n"
             "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept OSError:\n    sys.exit(3)\n",
             str(state / LOCK_FILE)],
            timeout=30,
        )  # fmt: skip
        assert probe.returncode == 3  # another process cannot take it
        (state / OWNER_FILE).write_text(str(_dead_pid()), encoding="ascii")  # as if its PID were foreign
        assert state not in remove_orphans(state.parent)
        assert state.exists()
    assert not state.exists()
