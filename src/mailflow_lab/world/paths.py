"""Files a world or scenario file names: kept inside its folder or the kit's data, DKIM keys checked."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .datafile import MAX_KEY_BYTES, Table, read_capped

DATA_DIR_NAME = "data"
# A data file kept in one of these folders (the kit's own layout: worlds/, zones/, keys/, scenarios/) may
# also name files in the sibling folders, as data/worlds/contoso.toml names ../zones/ and ../keys/.
LAYOUT_FOLDERS = ("worlds", "zones", "keys", "scenarios")
MIN_RSA_BITS = 1024  # dkimpy refuses to verify smaller RSA keys (RFC 8301 §3.2)


def data_dir() -> Path:
    """The kit's data folder: packaged inside an installed wheel, or the repository's data/."""
    packaged = Path(__file__).resolve().parent.parent / DATA_DIR_NAME
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / DATA_DIR_NAME


def allowed_folders(data_file: Path) -> list[Path]:
    """Where the files a data file names may live: its own folder (and, in the kit's layout, the sibling
    folders), and the kit's data folder."""
    folder = data_file.absolute().parent
    folders = [folder]
    if folder.name in LAYOUT_FOLDERS:
        folders += [folder.parent / name for name in LAYOUT_FOLDERS if name != folder.name]
    return [*folders, data_dir()]


def confined_path(table: Table, key: str, text: str, owner: str = "world") -> Path:
    """The path `text` (relative to the data file) names, refused unless it stays in allowed_folders:
    a `..` or absolute path elsewhere, or a symlink whose target is elsewhere, is a LabDataError."""
    data_file = Path(table.file)
    if "\x00" in text or not text.strip():
        raise table.error(key, f"expected a file path, got {text!r}")
    folders = allowed_folders(data_file)
    lexical = Path(os.path.normpath(data_file.absolute().parent / text))
    try:
        resolved = lexical.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop, a name too long
        raise table.error(key, f"path {text!r} cannot be followed ({exc})") from None
    real_folders = [f.resolve() for f in folders]
    if any(resolved.is_relative_to(f) for f in real_folders):
        return resolved
    if any(lexical.is_relative_to(f) for f in [*folders, *real_folders]):
        problem = f"{text!r} is a symlink to {resolved}, outside the {owner}'s folder"
    else:
        problem = f"path {text!r} leaves the {owner}'s folder"
    where = ", ".join(str(f) for f in folders)
    raise table.error(key, f"{problem} (files it names must be in {where})")


def check_dkim_key(table: Table, key: str, path: Path) -> None:
    """A DKIM signing key: an unencrypted PEM RSA private key of MIN_RSA_BITS or more, at most
    MAX_KEY_BYTES, so a wrong file is named at load and not found out at the first outbound send."""
    data = read_capped(path, MAX_KEY_BYTES, table.file, table.key_path(key), "key file")
    try:
        # Checked here: the format, the kind and the size. OpenSSL's RSA consistency checks (prime tests)
        # are skipped: they cost 20 ms a key, 125 ms of a 160 ms lab start (issue 22), and guard against
        # a forged key, not a wrong file; a key that is not usable fails at its first signature.
        private_key = serialization.load_pem_private_key(
            data, password=None, unsafe_skip_rsa_key_validation=True
        )
    except (ValueError, TypeError, UnsupportedAlgorithm):
        problem = "is not a PEM private key without a password (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY)"
        raise table.error(key, f"key file {path} {problem}") from None
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise table.error(key, f"key file {path} is not an RSA key (the lab signs DKIM with rsa-sha256)")
    if private_key.key_size < MIN_RSA_BITS:
        bits = private_key.key_size
        raise table.error(key, f"key file {path} is a {bits}-bit RSA key; DKIM needs {MIN_RSA_BITS} or more")
