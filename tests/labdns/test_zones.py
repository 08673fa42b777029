"""Zone files: parsed once per process, and every lab gets a copy of its own to change."""

from __future__ import annotations

from pathlib import Path

from mailflow_lab.labdns.worlddns import load_world_dns
from mailflow_lab.labdns.zones import zone_from_file, zone_from_text
from mailflow_lab.world.loader import load_world

ZONE = """\
$ORIGIN example.test.
@    IN SOA ns1 hostmaster 1 3600 600 86400 300
@    IN MX  10 mail
@    IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
mail IN A   192.0.2.25
"""


def test_a_zone_file_reads_as_its_text_parses(tmp_path: Path) -> None:
    path = tmp_path / "example.test.zone"
    path.write_text(ZONE)
    parsed = zone_from_text(ZONE, origin="example.test.")
    first, second = zone_from_file(path), zone_from_file(path)
    assert first.to_text() == second.to_text() == parsed.to_text()
    assert first is not second
    assert all(first.nodes[name] is not second.nodes[name] for name in first.nodes)


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "example.test.zone"
    path.write_text(ZONE)
    zone_from_file(path)
    path.write_text(ZONE.replace("192.0.2.25", "192.0.2.26"))
    assert "192.0.2.26" in zone_from_file(path).to_text()


def test_labs_never_see_each_others_dns_changes() -> None:
    world = load_world("contoso")
    one, other = load_world_dns(world), load_world_dns(world)
    before = other.txt("contoso.com.")
    one.set_txt("contoso.com.", ["v=spf1 -all"])
    one.remove_records("contoso.com.", "MX")
    assert one.txt("contoso.com.") == ["v=spf1 -all"] and one.mx("contoso.com.") == []
    assert other.txt("contoso.com.") == before and other.mx("contoso.com.")
    assert load_world_dns(world).txt("contoso.com.") == before
