"""New-Mailbox: the shared mailbox a scanner's scan-to-email address often needs (Exchange Online cmdlet)."""

from __future__ import annotations

import re
from typing import Any

from ..world.hosts import default_domain
from ..world.model import Mailbox
from .binder import Cmdlet, CmdletError, Context, Param
from .objects import PSObject
from .tenant_cmdlets import get_mailbox, tenant

# An alias as Exchange takes it: letters, digits and ! # $ % & ' * + - / = ? ^ _ ` { | } ~ and inner dots.
_ALIAS = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")


def new_mailbox(ctx: Context, p: dict[str, Any]) -> list[PSObject]:
    """New-Mailbox -Shared -Name <name> [-PrimarySmtpAddress <address>] [-Alias <alias>] [-DisplayName].

    Lab choice: only shared mailboxes are created (a user mailbox needs a licence and a password); the
    address is -PrimarySmtpAddress, else <alias>@<default accepted domain>, the alias being -Alias or the
    name without spaces, as Exchange derives it.
    """
    if not p.get("Shared"):
        raise CmdletError(
            "The lab creates shared mailboxes only (a user mailbox needs a licence and a password): "
            "add -Shared."
        )
    t = tenant(ctx)
    name = p["Name"]
    address = p.get("PrimarySmtpAddress")
    if address is None:
        alias = p.get("Alias") or name.replace(" ", "")
        if not _ALIAS.match(alias):
            raise CmdletError(f"The alias '{alias}' contains characters an alias cannot have.")
        address = f"{alias}@{default_domain(ctx.runtime.world)}"
    local, at, domain = address.lower().partition("@")
    if not at or not local or not _ALIAS.match(local):
        raise CmdletError(f"'{address}' is not a valid SMTP address.")
    if not t.is_accepted(domain):
        raise CmdletError(
            f"The domain '{domain}' of '{address}' is not an accepted domain of your organization."
        )
    if t.find_mailbox(address) is not None:
        # Exchange Online's wording when the address is taken.
        raise CmdletError(
            f'The proxy address "SMTP:{address.lower()}" is already being used by the proxy addresses or '
            "LegacyExchangeDN. Please choose another proxy address."
        )
    mailbox = Mailbox(
        address=address.lower(), display_name=p.get("DisplayName") or name, mailbox_type="Shared"
    )
    t.mailboxes.append(mailbox)
    ctx.changed = True
    return get_mailbox(ctx, {"Identity": mailbox.address})


CMDLETS = [
    Cmdlet(
        "New-Mailbox",
        (
            Param("Name", mandatory=True, position=0),
            Param("Shared", "switch"),
            Param("PrimarySmtpAddress"),
            Param("Alias"),
            Param("DisplayName"),
        ),
        new_mailbox,
    ),
]
