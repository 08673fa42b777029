"""Choosing the standard ports when they can be had, and pointing the lab DNS at the lab (loopback only)."""

from __future__ import annotations

import ipaddress
import re
import socket

import pytest

from mailflow_lab.lab.listening import choose_port, is_unspecified, listen_address, point_names_at
from mailflow_lab.labdns.worlddns import load_world_dns
from mailflow_lab.world.loader import load_world


def test_a_free_port_is_kept_and_a_taken_one_gives_way_with_the_reason() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        choice = choose_port("127.0.0.1", port)
        assert (choice.port, choice.wanted) == (0, port)
        assert choice.problem == f"port {port} is in use by another program"
    assert choose_port("127.0.0.1", port, udp_too=True).port == port  # released: it can be had again


def test_every_interface_has_no_single_address_to_give_out() -> None:
    assert is_unspecified("0.0.0.0") and is_unspecified("::")
    assert not is_unspecified("127.0.0.1") and not is_unspecified("localhost")


def test_names_in_lab_zones_answer_with_the_lab_address() -> None:
    dns = load_world_dns(load_world())
    names = ["smtp.office365.com", "contoso-com.mail.protection.outlook.com", "nowhere.example"]
    assert point_names_at(dns, names, "127.0.0.1") == names[:2]
    assert dns.addresses("smtp.office365.com") == ["127.0.0.1"]
    assert point_names_at(dns, ["smtp.office365.com"], "::1") == ["smtp.office365.com"]
    assert dns.resolve("smtp.office365.com", "AAAA").records[0].to_text() == "::1"


def test_a_listen_address_is_kept_and_a_host_name_becomes_its_address() -> None:
    assert listen_address("127.0.0.1") == "127.0.0.1"
    assert listen_address("127.0.0.2") == "127.0.0.2"  # all of 127/8 is this machine's
    resolved = listen_address("localhost")  # resolved once: the lab uses the address from then on
    assert ipaddress.ip_address(resolved).is_loopback


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("127.0.0.300", "'127.0.0.300' is not a valid IPv4 or IPv6 address"),  # not looked up in DNS
        ("127.1", "'127.1' is not a valid IPv4 or IPv6 address"),
        ("::1::", "'::1::' is not a valid IPv4 or IPv6 address"),
        ("", "'' is not a valid IPv4 or IPv6 address"),
        ("printer..local", "'printer..local' does not resolve"),  # refused before any lookup (empty label)
        ("a" * 64 + ".lab", "does not resolve"),
    ],
)
def test_a_listen_address_that_is_none_says_why(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=re.escape(why)):
        listen_address(text)


def test_a_zone_is_left_out_of_the_dns_answer() -> None:
    """fe80::1%eth0 is bound with its zone; a DNS record holds the address alone."""
    dns = load_world_dns(load_world())
    assert point_names_at(dns, ["smtp.office365.com"], "fe80::1%eth0") == ["smtp.office365.com"]
    assert dns.resolve("smtp.office365.com", "AAAA").records[0].to_text() == "fe80::1"
