"""Many labs on one machine: in one process and in several, they never share ports, state or mail."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mailflow_lab import Lab
from mailflow_lab.scenarios import load_into
from mailflow_lab.scenarios.loader import PACKS_ENV, scenario_paths, scenarios_dir
from mailflow_lab.store.statedir import OWNER_FILE, PREFIX, remove_orphans

LEARNER = textwrap.dedent(
    """
    import json, sys
    from mailflow_lab import Lab
    with Lab.start() as lab:
        lab.powershell("Set-CASMailbox -Identity alex -SmtpClientAuthenticationDisabled $false")
        scanner = lab.device("Lobby scanner")
        subjects = [f"{sys.argv[1]}-{i}" for i in range(3)]
        results = [scanner.send(lab, to="alex@contoso.com", subject=s).accepted for s in subjects]
        inbox = [m["Subject"] for m in lab.mailbox("alex@contoso.com").folder("Inbox")]
        ports = sorted(port for _, port in lab.endpoints().values())
        print(json.dumps({"ok": all(results), "inbox": inbox, "ports": ports, "state": str(lab.state_dir)}))
    """
)


def _own_work(lab: Lab, tag: str) -> list[str]:
    scanner = lab.device("Lobby scanner")
    for index in range(3):
        assert scanner.send(lab, to="alex@contoso.com", subject=f"{tag}-{index}").accepted
    return [str(m["Subject"]) for m in lab.mailbox("alex@contoso.com").folder("Inbox")]


def test_labs_in_one_process_at_once() -> None:
    labs = [Lab.start() for _ in range(3)]
    try:
        ports = [port for lab in labs for _, port in lab.endpoints().values()]
        assert len(ports) == len(set(ports)), "two labs got the same port"
        assert len({lab.state_dir for lab in labs}) == 3
        labs[0].powershell("Set-OrganizationConfig -RejectDirectSend $true")
        assert not labs[1].world.tenant.settings.reject_direct_send
        with ThreadPoolExecutor(3) as pool:
            inboxes = list(pool.map(_own_work, labs, ["first", "second", "third"]))
        for tag, inbox in zip(["first", "second", "third"], inboxes, strict=True):
            assert sorted(inbox) == [f"{tag}-{i}" for i in range(3)]
    finally:
        for lab in labs:
            lab.stop()
    assert not any(lab.state_dir.exists() for lab in labs)


def test_labs_in_several_processes_at_once() -> None:
    processes = [
        subprocess.Popen([sys.executable, "-c", LEARNER, f"learner{n}"], stdout=subprocess.PIPE, text=True)
        for n in range(3)
    ]
    reports = [json.loads(p.communicate(timeout=120)[0]) for p in processes]
    assert all(p.returncode == 0 for p in processes)
    for n, report in enumerate(reports):
        assert report["ok"] and sorted(report["inbox"]) == [f"learner{n}-{i}" for i in range(3)]
        assert not Path(report["state"]).exists()  # each removed its own state folder
    all_ports = [port for report in reports for port in report["ports"]]
    assert len(all_ports) == len(set(all_ports))


def test_a_lab_left_by_a_killed_kernel_is_cleaned_up() -> None:
    started = (
        "import sys, time\nfrom mailflow_lab import Lab\nlab = Lab.start()\n"
        "print(lab.state_dir, flush=True)\ntime.sleep(60)\n"
    )
    kernel = subprocess.Popen([sys.executable, "-c", started], stdout=subprocess.PIPE, text=True)
    assert kernel.stdout is not None
    state = Path(kernel.stdout.readline().strip())
    assert (state / OWNER_FILE).read_text() == str(kernel.pid)
    kernel.send_signal(signal.SIGKILL)
    kernel.wait(timeout=30)
    kernel.stdout.close()
    assert state.exists()
    assert state in remove_orphans()
    assert not state.exists()


def test_orphan_cleanup_leaves_living_and_foreign_folders(tmp_path: Path) -> None:
    mine = tmp_path / f"{PREFIX}mine"
    mine.mkdir()
    (mine / OWNER_FILE).write_text(str(os.getpid()))
    unowned = tmp_path / f"{PREFIX}somebody-elses"
    unowned.mkdir()
    assert remove_orphans(tmp_path) == []
    assert mine.exists() and unowned.exists()


def test_a_stopped_interpreter_stops_its_labs() -> None:
    script = "from mailflow_lab import Lab\nlab = Lab.start()\nprint(lab.state_dir)\n"  # no stop()
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert not Path(done.stdout.strip()).exists()


def test_instructor_scenario_packs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    shipped = scenario_paths(scenarios_dir())[0]
    (pack / "our-printer.toml").write_text(shipped.read_text())
    monkeypatch.setenv(PACKS_ENV, str(pack))
    names = [p.stem for p in scenario_paths()]
    assert "our-printer" in names and shipped.stem in names
    with Lab.start() as lab:
        loaded = load_into(lab, "our-printer")
        assert loaded.scenario.path == pack / "our-printer.toml"


def test_temp_folders_are_under_the_system_temp_dir() -> None:
    with Lab.start() as lab:
        assert lab.state_dir.parent == Path(tempfile.gettempdir())
