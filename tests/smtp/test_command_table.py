"""aiosmtpd's command table as the lab builds it (compat.CommandTable): one dispatch, methods found at use."""

from __future__ import annotations

import smtplib

import pytest

from mailflow_lab import Lab
from mailflow_lab.smtp import compat
from mailflow_lab.smtp.protocol import LabSMTP


def test_every_command_is_looked_up_when_used(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    with smtplib.SMTP(*lab.endpoint(lab.mx_host, 25), local_hostname="app.contoso.com") as client:
        assert client.noop()[0] == 250  # the table of this class is in use already

        async def noop(self: LabSMTP, arg: str) -> None:
            await self.push("250 2.0.0 replaced")

        monkeypatch.setattr(LabSMTP, "smtp_NOOP", noop)
        assert client.noop() == (250, b"2.0.0 replaced")
        assert client.docmd("BOGUS")[0] == 500  # not a command: aiosmtpd's own answer


def test_the_table_holds_the_class_commands_and_no_others(lab: Lab) -> None:
    with smtplib.SMTP(*lab.endpoint(lab.mx_host, 25), local_hostname="app.contoso.com") as client:
        client.ehlo()
    names = {n for base in LabSMTP.__mro__ for n in vars(base)}
    expected = {n.removeprefix("smtp_") for n in names if n.startswith("smtp_")}
    assert set(compat.command_names(LabSMTP)) == expected
    assert {"EHLO", "MAIL", "RCPT", "DATA", "BDAT", "XCLIENT", "NOOP", "QUIT"} <= expected
