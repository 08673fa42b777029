"""World and scenario files stay in their folder: no path escapes, bad keys, mailbox names or huge files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mailflow_lab.labdns.worlddns import load_world_dns
from mailflow_lab.labdns.zones import zone_from_file
from mailflow_lab.scenarios import load_scenario_file
from mailflow_lab.world.datafile import MAX_KEY_BYTES, MAX_TOML_BYTES, MAX_ZONE_BYTES, LabDataError
from mailflow_lab.world.loader import data_dir, load_world

WORLD = data_dir() / "worlds" / "contoso.toml"
ZONE = '"../zones/contoso.com.zone"'
KEY = '"../keys/selector1-contoso-com.pem"'


def _world(folder: Path, old: str = "", new: str = "") -> Path:
    """The default world in `folder`, zone and key paths pointing at the kit's data, with one edit."""
    folder.mkdir(parents=True, exist_ok=True)
    text = WORLD.read_text()
    if old:
        assert old in text, old
        text = text.replace(old, new.replace('"../', '"<up>/'), 1)
    text = text.replace('"../', f'"{data_dir().as_posix()}/').replace('"<up>/', '"../')
    path = folder / "world.toml"
    path.write_text(text)
    return path


def _refused(path: Path, where: str, problem: str) -> LabDataError:
    with pytest.raises(LabDataError) as caught:
        load_world_dns(load_world(path))
    error = caught.value
    assert error.file == str(path), error
    assert error.where == where, error
    assert problem in error.problem, error
    return error


def _sparse(path: Path, size: int) -> Path:
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        pytest.param(ZONE, '"../outside/contoso.com.zone"', "zones[0]", id="zone-dotdot"),
        pytest.param(ZONE, '"sub/../../outside/contoso.com.zone"', "zones[0]", id="zone-dotdot-inner"),
        pytest.param(KEY, '"../outside/key.pem"', "tenant.dkim[0].keys.selector1", id="key-dotdot"),
        pytest.param(KEY, '"/etc/passwd"', "tenant.dkim[0].keys.selector1", id="key-etc-passwd"),
        pytest.param(ZONE, '"/etc/hosts"', "zones[0]", id="zone-etc-hosts"),
    ],
)
def test_paths_out_of_the_world_folder_are_refused(tmp_path: Path, old: str, new: str, where: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(data_dir() / "zones" / "contoso.com.zone", outside)
    shutil.copy(data_dir() / "keys" / "selector1-contoso-com.pem", outside / "key.pem")
    error = _refused(_world(tmp_path / "lab", old, new), where, "leaves the world's folder")
    assert str(error).startswith(f"{tmp_path / 'lab' / 'world.toml'}: {where}: path ")


@pytest.mark.parametrize(
    ("old", "target", "where"),
    [
        pytest.param(KEY, "keys/selector1-contoso-com.pem", "tenant.dkim[0].keys.selector1", id="key"),
        pytest.param(ZONE, "zones/contoso.com.zone", "zones[0]", id="zone"),
    ],
)
def test_a_symlink_out_of_the_folder_is_refused(tmp_path: Path, old: str, target: str, where: str) -> None:
    elsewhere = tmp_path / "elsewhere" / Path(target).name
    elsewhere.parent.mkdir()
    shutil.copy(data_dir() / target, elsewhere)
    lab = tmp_path / "lab"
    lab.mkdir()
    (lab / "link").symlink_to(elsewhere)
    _refused(_world(lab, old, '"link"'), where, "is a symlink to")


def test_a_symlink_inside_the_folder_or_into_the_kit_data_is_fine(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    lab.mkdir()
    shutil.copy(data_dir() / "keys" / "selector1-contoso-com.pem", lab / "key.pem")
    (lab / "inside.pem").symlink_to(lab / "key.pem")
    (lab / "zone").symlink_to(data_dir() / "zones" / "contoso.com.zone")
    world = (
        _world(lab, KEY, '"inside.pem"').read_text().replace(ZONE.replace("..", str(data_dir())), '"zone"')
    )
    (lab / "world.toml").write_text(world)
    loaded = load_world(lab / "world.toml")
    assert loaded.tenant.dkim[0].keys["selector1"] == (lab / "key.pem").resolve()
    assert loaded.zone_files[0] == data_dir() / "zones" / "contoso.com.zone"


def test_a_copy_of_the_kit_layout_loads(tmp_path: Path) -> None:
    for folder in ("worlds", "zones", "keys"):
        shutil.copytree(data_dir() / folder, tmp_path / folder)
    world = load_world(tmp_path / "worlds" / "contoso.toml")
    assert world.zone_files[0] == (tmp_path / "zones" / "contoso.com.zone").resolve()


def _ec_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem.decode()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        pytest.param(
            "root:x:0:0:root:/root:/bin/bash\n", "is not a PEM private key without a password", id="passwd"
        ),
        pytest.param("", "is not a PEM private key", id="empty"),
        pytest.param(_ec_key(), "is not an RSA key", id="ec-key"),
    ],
)
def test_a_dkim_key_that_is_no_rsa_key_is_named_at_load(tmp_path: Path, content: str, problem: str) -> None:
    lab = tmp_path / "lab"
    lab.mkdir()
    (lab / "passwd").write_text(content)
    error = _refused(_world(lab, KEY, '"passwd"'), "tenant.dkim[0].keys.selector1", problem)
    assert f"key file {lab / 'passwd'}" in error.problem


@pytest.mark.parametrize(
    "address",
    [
        "../../x@contoso.com",
        "a/b@contoso.com",
        "a\\\\b@contoso.com",
        ".alex@contoso.com",
        "alex.@contoso.com",
        "al..ex@contoso.com",
        "al\\u0000ex@contoso.com",
        "al\\u001bex@contoso.com",
        "al ex@contoso.com",
        "a@b@contoso.com",
        "alex@*.contoso.com",
        "x" * 65 + "@contoso.com",
    ],
)
def test_mailbox_addresses_must_be_plain(tmp_path: Path, address: str) -> None:
    path = _world(tmp_path, 'address = "alex@contoso.com"', f'address = "{address}"')
    _refused(path, "tenant.mailboxes[0].address", "expected an email address")


@pytest.mark.parametrize("address", ["o'brien@contoso.com", "alex.smith+scan@contoso.com", "zoë@contoso.com"])
def test_unusual_but_valid_local_parts_still_load(tmp_path: Path, address: str) -> None:
    path = _world(tmp_path, 'address = "alex@contoso.com"', f'address = "{address}"')
    assert load_world(path).tenant.mailboxes[0].address == address


def test_an_oversized_zone_file_is_refused_before_parsing(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    lab.mkdir()
    _sparse(lab / "huge.zone", MAX_ZONE_BYTES + 1)
    error = _refused(_world(lab, ZONE, '"huge.zone"'), "zones[0]", f"{MAX_ZONE_BYTES + 1:,} bytes")
    assert "over the 256 KiB limit" in error.problem
    with pytest.raises(LabDataError, match="over the 256 KiB limit") as caught:
        zone_from_file(lab / "huge.zone", "contoso.com.")
    assert caught.value.file == str(lab / "huge.zone")


def test_an_oversized_world_or_key_file_is_refused(tmp_path: Path) -> None:
    world = _sparse(tmp_path / "huge.toml", MAX_TOML_BYTES + 1)
    with pytest.raises(LabDataError, match="33,554,433 bytes, over the 32 MiB limit") as caught:
        load_world(world)
    assert caught.value.file == str(world)
    lab = tmp_path / "lab"
    lab.mkdir()
    _sparse(lab / "huge.pem", MAX_KEY_BYTES + 1)
    _refused(_world(lab, KEY, '"huge.pem"'), "tenant.dkim[0].keys.selector1", "over the 64 KiB limit")


def test_a_key_path_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    (lab / "keys.pem").mkdir(parents=True)
    _refused(_world(lab, KEY, '"keys.pem"'), "tenant.dkim[0].keys.selector1", "is not a regular file")


SCENARIO = (data_dir() / "scenarios" / "send-as-denied.toml").read_text()


@pytest.mark.parametrize(
    ("world", "problem"),
    [
        pytest.param("../outside/world.toml", "leaves the scenario's folder", id="dotdot"),
        pytest.param("/etc/passwd.toml", "leaves the scenario's folder", id="absolute"),
        pytest.param("/etc/passwd", "expected a world name", id="absolute-name"),
        pytest.param("../contoso", "expected a world name", id="dotdot-name"),
    ],
)
def test_a_scenario_names_a_world_inside_its_folder(tmp_path: Path, world: str, problem: str) -> None:
    _world(tmp_path / "outside")
    pack = tmp_path / "pack"
    pack.mkdir()
    assert "\nworld =" not in SCENARIO
    path = pack / "escape.toml"
    path.write_text(f'world = "{world}"\n{SCENARIO}')
    with pytest.raises(LabDataError) as caught:
        load_scenario_file(path)
    assert caught.value.file == str(path) and caught.value.where == "world"
    assert problem in caught.value.problem


def test_an_oversized_scenario_file_is_refused(tmp_path: Path) -> None:
    path = _sparse(tmp_path / "huge.toml", MAX_TOML_BYTES + 1)
    with pytest.raises(LabDataError, match="over the 32 MiB limit"):
        load_scenario_file(path)


@pytest.mark.parametrize("world", sorted((data_dir() / "worlds").glob("*.toml")), ids=lambda p: p.stem)
def test_the_packaged_worlds_still_load(world: Path) -> None:
    loaded = load_world(world)
    load_world_dns(loaded)
    for config in loaded.tenant.dkim:
        assert all(key.is_relative_to(data_dir()) for key in config.keys.values())


def test_the_packaged_scenarios_still_load() -> None:
    for path in sorted((data_dir() / "scenarios").glob("*.toml")):
        load_scenario_file(path)


def test_a_fifo_key_does_not_hang(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    lab.mkdir()
    os.mkfifo(lab / "fifo.pem")
    _refused(_world(lab, KEY, '"fifo.pem"'), "tenant.dkim[0].keys.selector1", "is not a regular file")


def test_a_symlink_loop_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    lab.mkdir()
    (lab / "loop.pem").symlink_to(lab / "loop.pem")
    with pytest.raises(LabDataError) as caught:
        load_world(_world(lab, KEY, '"loop.pem"'))
    assert caught.value.where == "tenant.dkim[0].keys.selector1"
    # Python 3.11 and 3.12 report the loop when resolving; 3.13 resolves it to a file that is not there.
    assert "cannot be followed" in caught.value.problem or "does not exist" in caught.value.problem
