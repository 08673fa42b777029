"""Record values as a DNS host's web form takes them: a dotted name is absolute, a single label relative."""

from __future__ import annotations

import pytest

from mailflow_lab.labdns.zones import typed_value

ZONE = "contoso.com."


@pytest.mark.parametrize(
    ("rdtype", "typed", "saved"),
    [
        pytest.param(
            "MX",
            "0 contoso-com.mail.protection.outlook.com",
            "0 contoso-com.mail.protection.outlook.com.",
            id="mx-as-the-admin-center-shows-it",
        ),
        pytest.param(
            "MX",
            "0 contoso-com.mail.protection.outlook.com.",
            "0 contoso-com.mail.protection.outlook.com.",
            id="mx-with-its-final-dot",
        ),
        pytest.param("MX", "10 mail", "10 mail.contoso.com.", id="mx-single-label-is-in-the-zone"),
        pytest.param("MX", "10 @", "10 contoso.com.", id="mx-at-is-the-zone"),
        pytest.param(
            "CNAME", "autodiscover.outlook.com", "autodiscover.outlook.com.", id="cname-without-dot"
        ),
        pytest.param("NS", "ns1", "ns1.contoso.com.", id="ns-single-label"),
        pytest.param("A", "203.0.113.10", "203.0.113.10", id="a"),
        pytest.param("TXT", '"v=spf1 -all"', '"v=spf1 -all"', id="txt-untouched"),
    ],
)
def test_names_with_a_dot_are_absolute_a_single_label_is_relative(
    rdtype: str, typed: str, saved: str
) -> None:
    assert typed_value(rdtype, typed, ZONE) == saved


@pytest.mark.parametrize(
    ("rdtype", "typed", "words"),
    [
        pytest.param(
            "MX", "contoso-com.mail.protection.outlook.com", "a preference and a host name", id="no-pref"
        ),
        pytest.param("MX", "0 a b", "a preference and a host name", id="two-names"),
        pytest.param("MX", "0 203.0.113.5", "names a host, not an IP address", id="mx-to-an-address"),
        pytest.param("A", "contoso.com", "one IPv4 address", id="a-name"),
        pytest.param("CNAME", "", "one host name", id="cname-empty"),
    ],
)
def test_a_malformed_value_says_what_one_looks_like(rdtype: str, typed: str, words: str) -> None:
    with pytest.raises(ValueError, match=words) as caught:
        typed_value(rdtype, typed, ZONE)
    assert f"is not a valid {rdtype} record" in str(caught.value) or "IP address" in str(caught.value)
