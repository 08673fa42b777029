"""The DNS editor takes values as the admin center shows them, shows what it saved, refuses malformed ones."""

from __future__ import annotations

from ui_kit import text_of

from mailflow_lab import Lab
from mailflow_lab.ui.views import DNSEditor

MX = "contoso-com.mail.protection.outlook.com"


def _mx_editor(lab: Lab) -> DNSEditor:
    editor = DNSEditor(lab)
    editor.name.value = "contoso.com"
    editor.rdtype.value = "MX"
    return editor


def test_an_mx_typed_as_the_admin_center_shows_it_is_saved_absolute(lab: Lab) -> None:
    lab.dns.set_records("contoso.com", "MX", ["10 old.contoso.com."])
    editor = _mx_editor(lab)
    editor.values.value = f"0 {MX}"
    assert editor.save() is True
    assert lab.dns.mx("contoso.com") == [(0, MX)]
    status = text_of(editor.status.value)
    assert f"Saved. 0 {MX} saved as 0 {MX}." in status
    assert f"contoso.com IN MX 0 {MX}." in status and "outlook.com.contoso.com" not in status
    assert editor.values.value == f"0 {MX}."  # the box shows the record as saved


def test_a_single_label_stays_in_the_zone(lab: Lab) -> None:
    editor = _mx_editor(lab)
    editor.values.value = "10 mail"
    assert editor.save() is True
    assert lab.dns.mx("contoso.com") == [(10, "mail.contoso.com")]
    assert "10 mail saved as 10 mail.contoso.com." in text_of(editor.status.value)


def test_a_malformed_mx_is_refused_with_what_one_looks_like(lab: Lab) -> None:
    before = lab.dns.mx("contoso.com")
    editor = _mx_editor(lab)
    for typed, words in ((MX, "a preference and a host name"), ("0 203.0.113.5", "not an IP address")):
        editor.values.value = typed
        assert editor.save() is False
        status = text_of(editor.status.value)
        assert "Not saved" in status and words in status and "Saved." not in status
    assert lab.dns.mx("contoso.com") == before


def test_mail_flows_to_an_mx_saved_without_its_final_dot(lab: Lab) -> None:
    """Fabrikam's MX typed without its dot still reaches Fabrikam's server (the record is absolute)."""
    (pref, host), *_ = lab.dns.mx("fabrikam.com")
    editor = DNSEditor(lab)
    editor.zone.value = "fabrikam.com"
    editor.rdtype.value = "MX"
    editor.values.value = f"{pref} {host}"
    assert editor.save() is True
    assert lab.dns.mx("fabrikam.com") == [(pref, host)]
