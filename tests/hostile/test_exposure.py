"""Loopback by default: every endpoint and the lab DNS listen on 127.0.0.1; anything else warns."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from mailflow_lab import Lab
from mailflow_lab.smtp.servers import ExposureWarning, ServerThread, exposure_warning, is_loopback


def _listening_tcp(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, _, hex_port = fields[1].partition(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                raw = bytes.fromhex(address)
                if len(raw) == 4:
                    found.add(socket.inet_ntop(socket.AF_INET, raw[::-1]))
                else:
                    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                    found.add(socket.inet_ntop(socket.AF_INET6, words))
    return found


def test_every_endpoint_listens_on_loopback_only_by_default(tmp_path: Path) -> None:
    with Lab.start(state_dir=tmp_path / "state") as lab:
        bound = lab.endpoints()
        assert len(bound) >= 5
        assert {host for host, _ in bound.values()} == {"127.0.0.1"}
        assert lab.dns_server[0] == "127.0.0.1"
        if sys.platform.startswith("linux"):
            for _, port in bound.values():
                assert _listening_tcp(port) == {"127.0.0.1"}, port
            assert _listening_tcp(lab.dns_server[1]) == {"127.0.0.1"}


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost", "LOCALHOST."])
def test_loopback_hosts_do_not_warn(host: str) -> None:
    assert is_loopback(host) and exposure_warning(host) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", "10.0.0.5", "lab.example", ""])
def test_any_other_host_warns(host: str) -> None:
    assert not is_loopback(host)
    warning = exposure_warning(host)
    assert warning is not None and "beyond loopback" in warning and "never on the internet" in warning


def test_binding_beyond_loopback_warns_before_it_binds() -> None:
    """The explicit option (Lab.start(host=...), ServerThread.add_endpoint(host=...)) warns first.

    192.0.2.1 (TEST-NET-1) is no address of this machine, so the bind itself then fails: nothing listens,
    nothing is sent.
    """
    servers = ServerThread()
    servers.start()
    try:
        with pytest.warns(ExposureWarning, match="beyond loopback"), pytest.raises(OSError):
            servers.add_endpoint(
                object(), fqdn="x.test", clock=lambda: None, tls_context=None, host="192.0.2.1"
            )
    finally:
        servers.stop()
