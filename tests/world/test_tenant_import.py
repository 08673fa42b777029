"""mailflow-lab import: export folders in the documented JSON shapes become worlds load_world reads."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mailflow_lab import LabDataError
from mailflow_lab.cli import main
from mailflow_lab.labdns.worlddns import load_world_dns
from mailflow_lab.world.loader import load_world
from mailflow_lab.world.tenant_export import export_tenant, write_export_file
from mailflow_lab.world.tenant_world import import_tenant


@pytest.fixture
def contoso_export(tmp_path: Path) -> Path:
    return export_tenant(tmp_path / "export", load_world().tenant)


def test_contoso_round_trip_gives_the_same_tenant(contoso_export: Path, tmp_path: Path) -> None:
    written, warnings = import_tenant(contoso_export, tmp_path / "out" / "mine.toml")
    world, original = load_world(written.path), load_world().tenant
    tenant = world.tenant
    assert tenant.name == "Contoso" and tenant.initial_domain == original.initial_domain
    assert [(d.name, d.domain_type, d.default) for d in tenant.accepted_domains] == [
        (d.name, d.domain_type, d.default) for d in original.accepted_domains
    ]
    assert tenant.settings == original.settings
    assert [
        (
            m.address,
            m.display_name,
            m.mailbox_type,
            m.smtp_client_authentication_disabled,
            m.send_as_trustees,
            m.sharing_policy,
        )
        for m in tenant.mailboxes
    ] == [
        (
            m.address,
            m.display_name,
            m.mailbox_type,
            m.smtp_client_authentication_disabled,
            m.send_as_trustees,
            m.sharing_policy,
        )
        for m in original.mailboxes
    ]
    assert tenant.inbound_connectors == original.inbound_connectors
    assert tenant.outbound_connectors == original.outbound_connectors
    assert tenant.sharing_policies == original.sharing_policies
    assert tenant.organization_relationships == original.organization_relationships
    assert [(k.domain, k.enabled, k.key_domain) for k in tenant.dkim] == [
        (k.domain, k.enabled, k.key_domain) for k in original.dkim
    ]
    # Lab passwords: assigned to the user mailboxes, none to the shared one.
    assert set(written.passwords) == {"alex@contoso.com", "scanner@contoso.com"}
    assert tenant.find_mailbox("alex@contoso.com").password == written.passwords["alex@contoso.com"]
    assert tenant.find_mailbox("helpdesk@contoso.com").password is None
    dns = load_world_dns(world)
    assert {"contoso.com.", "outlook.com."} <= set(dns.origins)
    assert any("NT AUTHORITY" in w and "Trustee" in w for w in warnings)
    assert any(w.startswith("dns.json: Strings:") and "DKIM" in w for w in warnings)


def test_single_objects_nulls_and_unknown_properties(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    write_export_file(
        folder,
        "Get-AcceptedDomain.json",
        {
            "DomainName": "fabrikamlab.onmicrosoft.com",
            "DomainType": "Authoritative",
            "Default": True,
            "InitialDomain": True,
            "IsValid": True,
        },
    )
    write_export_file(
        folder,
        "Get-TransportConfig.json",
        {"SmtpClientAuthenticationDisabled": False, "AllowLegacyTLSClients": None},
    )
    write_export_file(
        folder,
        "Get-Mailbox.json",
        {
            "PrimarySmtpAddress": "kim@fabrikamlab.onmicrosoft.com",
            "DisplayName": "Kim",
            "RecipientTypeDetails": "UserMailbox",
            "SharingPolicy": None,
            "EmailAddresses": ["SMTP:kim@fabrikamlab.onmicrosoft.com", "smtp:k@fabrikamlab.onmicrosoft.com"],
            "HiddenFromAddressListsEnabled": False,
        },
    )
    write_export_file(
        folder,
        "Get-CASMailbox.json",
        {"PrimarySmtpAddress": "kim@fabrikamlab.onmicrosoft.com", "SmtpClientAuthenticationDisabled": None},
    )
    written, warnings = import_tenant(folder, tmp_path / "w.toml")
    tenant = load_world(written.path).tenant
    assert tenant.settings.smtp_client_authentication_disabled is False
    assert tenant.settings.allow_legacy_tls_clients is False
    (kim,) = tenant.mailboxes
    assert kim.smtp_client_authentication_disabled is None  # $null: follows the tenant
    assert tenant.name == "fabrikamlab"
    assert "Get-AcceptedDomain.json: IsValid: not modelled by the lab, not imported" in warnings
    assert (
        "Get-Mailbox.json: HiddenFromAddressListsEnabled: not modelled by the lab, not imported" in warnings
    )
    assert any(w.startswith("Get-Mailbox.json: EmailAddresses:") for w in warnings)
    assert any(w.startswith("Get-InboundConnector.json: (file): missing") for w in warnings)


@pytest.mark.parametrize(
    ("name", "content", "where"),
    [
        (
            "Get-CASMailbox.json",
            [{"PrimarySmtpAddress": "alex@contoso.com", "SmtpClientAuthenticationDisabled": "yes"}],
            "[0].SmtpClientAuthenticationDisabled",
        ),
        (
            "Get-InboundConnector.json",
            {"Name": "Office", "ConnectorType": "OnPremises", "SenderIPAddresses": ["203.0.113.300"]},
            "SenderIPAddresses[0]",
        ),
        ("Get-InboundConnector.json", {"Name": "Office", "ConnectorType": "Hybrid"}, "ConnectorType"),
        ("Get-Mailbox.json", {"PrimarySmtpAddress": "not an address"}, "PrimarySmtpAddress"),
        ("Get-AcceptedDomain.json", '[{"DomainName": ', "line 1"),
        ("Get-OutboundConnector.json", {"Name": "Out", "UseMXRecord": False, "SmartHosts": []}, "SmartHosts"),
    ],
)
def test_a_malformed_file_names_file_and_property(
    contoso_export: Path, tmp_path: Path, name: str, content: Any, where: str
) -> None:
    path = contoso_export / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(LabDataError) as info:
        import_tenant(contoso_export, tmp_path / "w.toml")
    assert info.value.file == str(path)
    assert info.value.where.startswith(where)


def test_anonymise_replaces_every_domain_and_address(contoso_export: Path, tmp_path: Path) -> None:
    written, _ = import_tenant(contoso_export, tmp_path / "out" / "shared.toml", anonymised=True)
    world = load_world(written.path)
    tenant = world.tenant
    # [network] holds the lab's default office address (203.0.113.10), not the tenant's.
    texts = [p.read_text().partition("[network]")[0] for p in written.files if p.suffix in (".toml", ".zone")]
    for text in texts:
        assert not re.search(r"contoso|fabrikam|alex|scanner|helpdesk|wilber|203\.0\.113\.10", text, re.I), (
            text
        )
    assert [d.name for d in tenant.accepted_domains] == ["tenant1.example", "tenant1.onmicrosoft.com"]
    assert tenant.initial_domain == "tenant1.onmicrosoft.com"
    assert [m.address for m in tenant.mailboxes] == [
        "user1@tenant1.example",
        "user2@tenant1.example",
        "user3@tenant1.example",
    ]
    assert [k.domain for k in tenant.dkim] == ["tenant1.example", "tenant1.onmicrosoft.com"]
    assert tenant.dkim[0].key_domain == "tenant1.onmicrosoft.com"
    dns = load_world_dns(world)
    assert {"tenant1.example.", "tenant1.onmicrosoft.com."} <= set(dns.origins)
    zone = (written.path.parent / "shared-zones" / "tenant1.example.zone").read_text()
    assert "tenant1-example.mail.protection.outlook.com." in zone
    assert "selector1-tenant1-example._domainkey.tenant1.onmicrosoft.com." in zone
    hosted = (written.path.parent / "shared-zones" / "tenant1.onmicrosoft.com.zone").read_text()
    # The office address, replaced the same way wherever it appears (RFC 2544's 198.18.0.0/15).
    assert "ip4:198.18.0.0/32 include:spf.protection.outlook.com" in zone
    assert "ip4:198.18.0.0/32 include:spf.protection.outlook.com" in hosted


def test_cli_import_prints_passwords_and_warnings(
    contoso_export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli" / "world.toml"
    assert main(["import", str(contoso_export), "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "alex@contoso.com" in printed.out and "lab passwords" in printed.out
    assert "warning: Get-RecipientPermission.json: Trustee:" in printed.err
    assert main(["check-world", str(out)]) == 0
    (contoso_export / "Get-Mailbox.json").write_text("{")
    assert main(["import", str(contoso_export), "--out", str(out)]) == 2
    assert "Get-Mailbox.json" in capsys.readouterr().err


def test_the_shipped_sample_export_is_contoso_exported(tmp_path: Path) -> None:
    """data/exports/contoso-sample (notebook 09) is what the export writer makes of contoso: no drift."""
    from mailflow_lab.world.paths import data_dir

    shipped = data_dir() / "exports" / "contoso-sample"
    fresh = export_tenant(tmp_path / "fresh", load_world("contoso").tenant)
    assert sorted(p.name for p in shipped.iterdir()) == sorted(p.name for p in fresh.iterdir())
    for path in fresh.iterdir():
        assert json.loads((shipped / path.name).read_text("utf-8-sig")) == json.loads(
            path.read_text("utf-8-sig")
        )


def test_the_scenario_catalog_has_the_same_outcomes_on_the_imported_tenant(
    contoso_export: Path, tmp_path: Path
) -> None:
    """The issue's round trip: contoso exported and imported, then every scenario of the catalog run with
    the imported tenant in contoso's network (the scenarios' devices, Fabrikam, the filter). What no export
    carries is put back first: the passwords (the import assigns lab ones), the DKIM keys (Microsoft's
    private keys never leave it; the import makes lab ones, whose public halves are in its own zones) and
    the calendars (items are mailbox content, and folder permissions come from Get-MailboxFolderPermission,
    which the export does not run), which the sharing scenarios look at."""
    from mailflow_lab import Lab
    from mailflow_lab.scenarios import scenario_paths
    from mailflow_lab.scenarios.compare import ScenarioResult
    from mailflow_lab.scenarios.loader import load_scenario_file
    from mailflow_lab.scenarios.session import LoadedScenario
    from mailflow_lab.world.state import save_tenant

    written, _ = import_tenant(contoso_export, tmp_path / "world" / "contoso.toml")
    imported = load_world(written.path).tenant
    original = load_world("contoso").tenant
    by_address = {m.address: m for m in original.mailboxes}
    for mailbox in imported.mailboxes:
        source = by_address[mailbox.address]
        mailbox.password = source.password
        mailbox.calendar = source.calendar
        mailbox.calendar_default_access = source.calendar_default_access
        mailbox.calendar_shared_with = source.calendar_shared_with
    imported.dkim = original.dkim

    failed, ran = [], 0
    for index, path in enumerate(scenario_paths()):
        scenario = load_scenario_file(path)
        if scenario.world != "contoso":
            continue
        state = tmp_path / f"state-{index}"
        save_tenant(imported, state)  # a state folder's tenant.json is the tenant the lab starts with
        with Lab.start(scenario.world, state_dir=state) as lab:
            session = LoadedScenario.load(lab, scenario)
            _, broken, broken_problems = session.attempt(scenario.expect)
            result = ScenarioResult(scenario, broken, broken_problems)
            session.apply_fix()
            _, result.fixed, result.fixed_mismatches = session.attempt(scenario.fix_expect)
        ran += 1
        if not result.ok:
            failed.append((scenario.name, result.mismatches))
    assert ran >= 60 and failed == []
