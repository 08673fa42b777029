"""Choosing the standard ports when they can be had, and pointing the lab DNS at the lab (loopback only)."""

from __future__ import annotations

import socket

from mailflow_lab.listening import choose_port, is_unspecified, point_names_at
from mailflow_lab.world.loader import load_world, load_world_dns


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
