"""A class on a real JupyterHub: deploy/jupyterhub_config.py, three learners in Chromium at once.

The hub runs the deploy file as it is (only its addresses are given on the command line and its folders in
the environment), with configurable-http-proxy from npm, the shared-password authenticator, one Unix user per
learner (made here with useradd, removed after) and the idle culler as a hub service. Each learner logs in,
opens 00-start-here, runs it, sends a message of their own and runs the instructor's scenario pack; then each
learner's kernel tries to read the other learners' lab state, home and progress file, and must see nothing.
The memory of each learner's processes is written to test-output/hub-memory.json.

To see the isolation check fail, run every learner as the hub's user (no isolation of files):
MAILFLOW_HUB_TEST_ARGS='--JupyterHub.spawner_class=jupyterhub.spawner.SimpleLocalProcessSpawner
--SimpleLocalProcessSpawner.home_dir_template=/home/{username}'.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import platform
import pwd
import re
import secrets
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from browser_kit import CHROMIUM, CHROMIUM_ARGS, write_lab_settings

from real_clients import needs, node_modules

try:
    from playwright.async_api import Browser, Locator, Page, async_playwright, expect
except ImportError:  # pragma: no cover - depends on the test extras
    HAVE_PLAYWRIGHT = False
else:
    HAVE_PLAYWRIGHT = True

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "jupyterhub_config.py"
OUTPUT = ROOT / "test-output"
HUB_OUTPUT = OUTPUT / "hub"
MEMORY_FILE = OUTPUT / "hub-memory.json"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

pytestmark = [
    pytest.mark.slow,
    needs("chromium", "node"),
    pytest.mark.skipif(
        not HAVE_PLAYWRIGHT or importlib.util.find_spec("jupyterhub") is None,
        reason="playwright or jupyterhub is not importable; install the test extras: pip install -e .[test]",
    ),
    pytest.mark.skipif(not IS_ROOT, reason="the hub test makes a Unix user per learner: run it as root"),
]

LEARNER_COUNT = 3
HUB_START_TIMEOUT = 60  # seconds until /hub/api/ answers
SPAWN_TIMEOUT_MS = 150_000  # logged in, the server spawned, JupyterLab loaded and the kernel idle
RUN_TIMEOUT_MS = 150_000  # notebook 00 run, three at once on a small machine
STEP_TIMEOUT_MS = 60_000  # one cell
EXTRA_HUB_ARGS = shlex.split(os.environ.get("MAILFLOW_HUB_TEST_ARGS", ""))
PACK_NAME = "class-pack-invoice-app"
PROBE_MARK = "HUB-PROBE "


# -- the machine: learners as Unix users, the kit readable by them ---------------------------------------
@dataclass
class Learner:
    name: str
    uid: int
    home: Path
    secret: str  # the subject of a message only this learner sends, looked for in what others can read
    seen: dict[str, Any] = field(default_factory=dict)  # what the probes printed in their kernel


def _run(*command: str) -> None:
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)


def _write_settings(home: Path, uid: int, gid: int) -> None:
    write_lab_settings(home / ".jupyter" / "lab" / "user-settings")
    for folder, dirs, files in os.walk(home / ".jupyter"):
        for name in [*dirs, *files, "."]:
            os.chown(os.path.join(folder, name), uid, gid)


def _processes_of(uids: set[int]) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid in uids:
                    found.append(int(entry.name))
            except FileNotFoundError:
                continue
    return found


def _end_processes(uids: set[int]) -> None:
    """What the hub started as the learners and left running: ended by pid, SIGTERM then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = _processes_of(uids)
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while _processes_of(uids) and time.monotonic() < deadline:
            time.sleep(0.2)


def _traversable_dirs() -> list[Path]:
    """Every folder a learner's server must pass through: the environment, its Python, the kit."""
    places = {Path(sys.executable), Path(os.path.realpath(sys.executable)), Path(sys.prefix), ROOT}
    places |= {Path(os.path.realpath(sys.base_prefix))}
    dirs: set[Path] = set()
    for place in places:
        dirs |= {folder for folder in place.parents}
        if place.is_dir():
            dirs.add(place)
    return sorted(dirs)


@pytest.fixture(scope="module")
def learners() -> Iterator[list[Learner]]:
    """Three throwaway Unix users with private homes; removed, with whatever they own in /tmp, after."""
    tag = secrets.token_hex(2)
    made: list[Learner] = []
    # The learners must reach the environment's Python: a folder closed to others (pyenv under /root, say)
    # is opened for passing through (o+x, not listing) for the test's duration and restored after.
    opened = [(d, d.stat().st_mode) for d in _traversable_dirs() if not d.stat().st_mode & stat.S_IXOTH]
    try:
        for folder, mode in opened:
            os.chmod(folder, stat.S_IMODE(mode) | stat.S_IXOTH)
        for number in range(1, LEARNER_COUNT + 1):
            name = f"mflhub{tag}{number}"
            _run("useradd", "--create-home", "--user-group", "--shell", "/bin/bash", name)
            account = pwd.getpwnam(name)
            home = Path(account.pw_dir)
            made.append(Learner(name, account.pw_uid, home, f"private-{name}-{secrets.token_hex(4)}"))
            os.chmod(home, 0o700)
            _write_settings(home, account.pw_uid, account.pw_gid)
        yield made
    finally:
        uids = {learner.uid for learner in made}
        _end_processes(uids)
        for entry in Path("/tmp").iterdir():  # the labs' state folders, left by a kernel that was killed
            try:
                if entry.lstat().st_uid in uids:
                    shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
            except FileNotFoundError:
                continue
        for learner in made:
            subprocess.run(["userdel", "--remove", learner.name], stderr=subprocess.DEVNULL, timeout=60)
        for folder, mode in opened:
            os.chmod(folder, stat.S_IMODE(mode))


# -- the hub ------------------------------------------------------------------------------------------
@dataclass
class Hub:
    url: str
    password: str
    process: subprocess.Popen[bytes]
    log: Path
    pack: Path


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, never a proxy
    try:
        with opener.open(f"{url}/hub/api/", timeout=2) as response:
            return "version" in json.loads(response.read())
    except (OSError, urllib.error.URLError, ValueError):
        return False


def _write_pack(folder: Path) -> None:
    """An instructor's pack: a shipped scenario under a name and title of the instructor's."""
    shipped = (ROOT / "data" / "scenarios" / "smtp-auth-tenant-off.toml").read_text()
    title = 'title = "Class pack: the invoice app signs in with Alex\'s mailbox"'
    text, count = re.subn(r"(?m)^title = .*$", title, shipped, count=1)
    assert count == 1
    (folder / f"{PACK_NAME}.toml").write_text(text)
    (folder / f"{PACK_NAME}.toml").chmod(0o644)


def _children(pid: int) -> list[tuple[int, list[str]]]:
    """The processes whose parent is `pid`, with their command lines."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = re.search(r"^PPid:\s+(\d+)", (entry / "status").read_text(), re.MULTILINE)
                argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            except (FileNotFoundError, ProcessLookupError):
                continue
            if parent and int(parent.group(1)) == pid:
                found.append((int(entry.name), argv))
    return found


def _stop_hub(hub: Hub) -> None:
    """SIGTERM: the hub stops the learners' servers, the culler and the proxy; then whatever is left."""
    children = [pid for pid, _ in _children(hub.process.pid)]  # the proxy and the culler, own sessions
    if hub.process.poll() is None:
        hub.process.send_signal(signal.SIGTERM)
        try:
            hub.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(hub.process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    hub.process.wait(timeout=10)
    for pid in children:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def hub(learners: list[Learner]) -> Iterator[Hub]:
    state = Path(tempfile.mkdtemp(prefix="mailflow-hub-"))  # root's alone: database, cookie secret
    pack = Path(tempfile.mkdtemp(prefix="mailflow-hub-pack-"))
    pack.chmod(0o755)  # the instructor's folder, readable by every learner
    _write_pack(pack)
    port, hub_port, api_port = _free_ports(3)
    password = secrets.token_urlsafe(12)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    env |= {
        "PATH": f"{node_modules() / '.bin'}{os.pathsep}{env.get('PATH', os.defpath)}",
        "MAILFLOW_HUB_STATE": str(state),
        "MAILFLOW_HUB_PASSWORD": password,
        "MAILFLOW_HUB_LEARNERS": ",".join(learner.name for learner in learners),
        "MAILFLOW_LAB_SCENARIOS": str(pack),
        "NO_PROXY": "127.0.0.1,localhost",
    }
    command = [
        sys.executable,
        "-m",
        "jupyterhub",
        "-f",
        str(CONFIG),
        f"--JupyterHub.bind_url=http://127.0.0.1:{port}",
        f"--JupyterHub.hub_bind_url=http://127.0.0.1:{hub_port}",
        f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{api_port}",
        *EXTRA_HUB_ARGS,
    ]
    HUB_OUTPUT.mkdir(parents=True, exist_ok=True)
    log = HUB_OUTPUT / "jupyterhub.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=state, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    running = Hub(f"http://127.0.0.1:{port}", password, process, log, pack)
    try:
        deadline = time.monotonic() + HUB_START_TIMEOUT
        while not _answers(running.url):
            if process.poll() is not None:
                pytest.fail(f"JupyterHub exited with {process.returncode}; see {log}")
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterHub did not answer /hub/api/ in {HUB_START_TIMEOUT} s; see {log}")
            time.sleep(0.25)
        yield running
    finally:
        _stop_hub(running)
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(pack, ignore_errors=True)


# -- in the browser -----------------------------------------------------------------------------------
def _kernel_status(page: Page, status: str) -> Locator:
    return page.locator("#jp-main-statusbar").get_by_text(re.compile(rf" \| {status}$"))


async def _menu(page: Page, menu: str, item: str) -> None:
    await page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{re.escape(menu)}$")).click()
    await page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(item)}$")).click()


async def _shot(page: Page, name: str) -> None:
    await page.screenshot(path=HUB_OUTPUT / f"{name}.png")


async def _fail_on_traceback(page: Page, name: str) -> None:
    tracebacks = page.locator(".jp-OutputArea-output", has_text="Traceback")
    if await tracebacks.count():
        await _shot(page, f"{name}-failed")
        pytest.fail(f"a cell failed in {name}'s browser:\n{(await tracebacks.first.inner_text())[:3000]}")


async def _run_all_but_last(page: Page, name: str) -> None:
    """Run > Run All Above Selected Cell with the last cell (lab.stop()) selected, as the JupyterLab test."""
    code = page.locator(".jp-Notebook .jp-CodeCell")
    last = code.last
    assert ".stop()" in await last.locator(".jp-InputArea-editor").inner_text()
    await last.locator(".jp-InputPrompt").click()
    await _menu(page, "Run", "Run All Above Selected Cell")
    to_run = await code.count() - 1
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    while True:
        prompts = [(await code.nth(i).locator(".jp-InputPrompt").inner_text()).strip() for i in range(to_run)]
        if all(re.fullmatch(r"\[\d+\]:", p) for p in prompts):
            break
        await _fail_on_traceback(page, name)
        if time.monotonic() > deadline:
            await _shot(page, f"{name}-timeout")
            pytest.fail(f"{name}'s notebook did not finish in {RUN_TIMEOUT_MS // 1000} s; prompts: {prompts}")
        await page.wait_for_timeout(250)
    await expect(_kernel_status(page, "Idle")).to_have_count(1, timeout=STEP_TIMEOUT_MS)
    await _fail_on_traceback(page, name)


async def _run_last(page: Page, source: str) -> str:
    """Type `source` into the notebook's last code cell, run it, and return its output's text."""
    cell = page.locator(".jp-Notebook .jp-CodeCell").last
    await cell.locator(".jp-InputArea-editor .cm-content").click()
    await page.keyboard.press("Control+A")
    await page.keyboard.insert_text(source)
    prompt = cell.locator(".jp-InputPrompt")
    before = (await prompt.inner_text()).strip()
    await prompt.click()
    await _menu(page, "Run", "Run Selected Cell and Do not Advance")
    await expect(prompt).not_to_have_text(before, timeout=STEP_TIMEOUT_MS)
    await expect(prompt).to_have_text(re.compile(r"^\[\d+\]:$"), timeout=STEP_TIMEOUT_MS)
    await expect(_kernel_status(page, "Idle")).to_have_count(1, timeout=STEP_TIMEOUT_MS)
    return await cell.locator(".jp-OutputArea").inner_text()


def _probe_result(output: str) -> dict[str, Any]:
    lines = [line for line in output.splitlines() if line.startswith(PROBE_MARK)]
    assert lines, f"the probe printed nothing readable:\n{output[:3000]}"
    return json.loads(lines[-1][len(PROBE_MARK) :])


# In the learner's kernel, after the notebook: who it runs as, where its lab and progress live, a message only
# this learner sends, and the instructor's pack found and run.
WHO_AM_I = """\
import json, os, pwd
from mailflow_lab.scenarios import load_scenario_file, run_scenario, scenario_paths
from mailflow_lab.ui.progress import progress_path, record_solved

record_solved("hub.probe")
sent = lab.device("Lobby scanner").send(lab, to="alex@contoso.com", subject={secret!r})
pack = load_scenario_file({pack!r})
print({mark!r} + json.dumps({{
    "user": pwd.getpwuid(os.getuid()).pw_name, "uid": os.getuid(), "pid": os.getpid(),
    "state_dir": str(lab.state_dir), "home": os.path.expanduser("~"), "progress": str(progress_path()),
    "sent": sent.accepted, "inbox": [m["Subject"] for m in lab.mailbox("alex@contoso.com").folder("Inbox")],
    "scenarios": [p.stem for p in scenario_paths()],
    "pack_title": pack.title, "pack_ok": run_scenario(pack).ok,
}}))"""

# In the learner's kernel: read all it can of a folder or file, and look for the learners' private subjects.
PEEK = """\
import json, os

def peek(root, secrets):
    read, refused, found = [], [], set()
    def look(path):
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            refused.append(f"{{type(exc).__name__}}: {{path}}")
            return
        read.append(path)
        found.update(s for s in secrets if s.encode() in data)
    def cannot(exc):
        refused.append(f"{{type(exc).__name__}}: {{exc.filename}}")
    if os.path.isdir(root) or not os.path.exists(root):
        for folder, _, files in os.walk(root, onerror=cannot):
            read.append(folder)
            for name in files:
                look(os.path.join(folder, name))
    else:
        look(root)
    if not read and not refused:
        try:
            os.stat(root)
        except OSError as exc:
            refused.append(f"{{type(exc).__name__}}: {{root}}")
    return {{"read": read, "refused": refused, "found": sorted(found)}}

secrets = {secrets!r}
print({mark!r} + json.dumps({{
    "own": peek(str(lab.state_dir), secrets),
    "others": {{
        name: {{what: peek(path, secrets) for what, path in where.items()}}
        for name, where in {others!r}.items()
    }},
}}))"""


async def _learner_logs_in_and_runs(browser: Browser, hub: Hub, learner: Learner) -> Page:
    context = await browser.new_context(viewport={"width": 1400, "height": 2000})
    page = await context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    learner.seen["page_errors"] = problems
    await page.goto(f"{hub.url}/hub/login")
    await page.locator("#username_input").fill(learner.name)
    await page.locator("#password_input").fill(hub.password)
    await page.locator("#login_submit").click()
    # Spawned: the hub sends the learner to their server's default URL, notebook 00.
    await page.wait_for_url(re.compile(rf"/user/{learner.name}/lab"), timeout=SPAWN_TIMEOUT_MS)
    learner.seen["url"] = page.url
    await expect(page.locator(".jp-Notebook .jp-Cell").first).to_be_visible(timeout=SPAWN_TIMEOUT_MS)
    await expect(_kernel_status(page, "Idle")).to_have_count(1, timeout=SPAWN_TIMEOUT_MS)
    await _run_all_but_last(page, learner.name)
    code = page.locator(".jp-Notebook .jp-CodeCell")
    outputs = [await code.nth(i).locator(".jp-OutputArea").inner_text() for i in range(await code.count())]
    learner.seen["outputs"] = outputs
    await _shot(page, f"{learner.name}-ran")
    output = await _run_last(page, WHO_AM_I.format(secret=learner.secret, pack=PACK_NAME, mark=PROBE_MARK))
    await _fail_on_traceback(page, learner.name)
    learner.seen["who"] = _probe_result(output)
    return page


async def _learner_peeks(page: Page, learner: Learner, everyone: list[Learner]) -> None:
    others = {
        other.name: {key: other.seen["who"][key] for key in ("state_dir", "home", "progress")}
        for other in everyone
        if other is not learner
    }
    probe = PEEK.format(secrets=[o.secret for o in everyone], others=others, mark=PROBE_MARK)
    output = await _run_last(page, probe)
    await _fail_on_traceback(page, learner.name)
    learner.seen["peek"] = _probe_result(output)
    stopped = await _run_last(page, "lab.stop()\nprint('stopped', lab.state_dir.exists())")
    learner.seen["stopped"] = stopped.strip()


def _kb(text: str, key: str) -> int:
    found = re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) if found else 0


def _memory_of(learner: Learner) -> dict[str, Any]:
    """Every process of the learner's user (the single-user server, its kernel, which runs the lab's
    servers as threads): RSS, peak RSS (VmHWM), PSS and USS (private pages) from /proc, in kB."""
    return {"learner": learner.name, **_measure(_processes_of({learner.uid}))}


def _measure(pids: list[int]) -> dict[str, Any]:
    processes = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except (FileNotFoundError, ProcessLookupError):
            continue
        line = " ".join(argv)
        roles = {"jupyterhub-singleuser": "server", "ipykernel": "kernel", "-m jupyterhub ": "hub"}
        roles |= {"configurable-http-proxy": "proxy", "jupyterhub_idle_culler": "idle culler"}
        role = next((name for key, name in roles.items() if key in line), "other")
        processes.append(
            {
                "pid": pid,
                "role": role,
                "command": line[:200],
                "rss_kb": _kb(status, "VmRSS"),
                "peak_rss_kb": _kb(status, "VmHWM"),
                "pss_kb": _kb(rollup, "Pss"),
                "uss_kb": _kb(rollup, "Private_Clean") + _kb(rollup, "Private_Dirty"),
            }
        )
    totals = {key: sum(p[key] for p in processes) for key in ("rss_kb", "peak_rss_kb", "pss_kb", "uss_kb")}
    return {"processes": processes, **totals}


def _write_memory(measured: list[dict[str, Any]], hub: dict[str, Any]) -> dict[str, Any]:
    def mb(key: str) -> dict[str, float]:
        values = [m[key] / 1024 for m in measured]
        return {"mean": round(sum(values) / len(values), 1), "max": round(max(values), 1)}

    total_kb = _kb(Path("/proc/meminfo").read_text(), "MemTotal")
    report = {
        "what": "per learner, after notebook 00 ran (its lab still running): the single-user server and its "
        "kernel (the lab runs inside the kernel), every process of the learner's Unix user",
        "command": "python -m pytest tests/browser/test_jupyterhub.py",
        "machine": {
            "cpus": os.cpu_count(),
            "memory_mb": total_kb // 1024,
            "kernel": platform.release(),
            "python": platform.python_version(),
            "jupyterhub": version("jupyterhub"),
            "jupyterlab": version("jupyterlab"),
            "learners_at_once": len(measured),
        },
        "per_learner_mb": {"rss": mb("rss_kb"), "peak_rss": mb("peak_rss_kb"), "pss": mb("pss_kb")}
        | {"uss": mb("uss_kb")},
        "learners": measured,
        "hub": hub,  # once per machine: the hub, the proxy and the idle culler
    }
    MEMORY_FILE.parent.mkdir(parents=True, exist_ok=True)
    MEMORY_FILE.write_text(json.dumps(report, indent=2) + "\n")
    return report


@dataclass
class Classroom:
    learners: list[Learner]
    memory: dict[str, Any]
    seconds: float


async def _class(hub: Hub, learners: list[Learner]) -> dict[str, Any]:
    async with async_playwright() as engine:
        browser = await engine.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            # Three learners log in at once, each in a browser context of their own (their own cookies).
            pages = await asyncio.gather(*(_learner_logs_in_and_runs(browser, hub, one) for one in learners))
            theirs = set(_processes_of({one.uid for one in learners}))  # their servers are children too
            own = [hub.process.pid, *(pid for pid, _ in _children(hub.process.pid) if pid not in theirs)]
            memory = _write_memory([_memory_of(one) for one in learners], _measure(own))
            peeks = [_learner_peeks(page, one, learners) for page, one in zip(pages, learners, strict=True)]
            await asyncio.gather(*peeks)
            return memory
        finally:
            await browser.close()


@pytest.fixture(scope="module")
def classroom(hub: Hub, learners: list[Learner]) -> Classroom:
    started = time.monotonic()
    memory = asyncio.run(_class(hub, learners))
    return Classroom(learners, memory, time.monotonic() - started)


# -- the tests -----------------------------------------------------------------------------------------
def test_each_learner_runs_start_here_on_their_own_server(classroom: Classroom) -> None:
    for learner in classroom.learners:
        seen = learner.seen
        assert f"/user/{learner.name}/lab/tree/00-start-here.ipynb" in seen["url"]
        # The scanner's first send, accepted (its result's reply), and in Alex's Inbox (the assert cell ran).
        sends = [i for i, output in enumerate(seen["outputs"]) if "250 2.0.0" in output]
        assert sends, f"no accepted send in {learner.name}'s notebook: {seen['outputs']}"
        assert "My first scan" in seen["outputs"][sends[0] + 1], seen["outputs"][sends[0] + 1]
        who = seen["who"]
        assert who["user"] == learner.name and who["uid"] == learner.uid, who
        assert who["sent"] and who["inbox"] == ["My first scan", learner.secret], who["inbox"]
        assert who["home"] == str(learner.home)
        assert seen["stopped"] == "stopped False"  # lab.stop() removed the lab's state folder
        assert not seen["page_errors"], f"JavaScript errors in {learner.name}'s page: {seen['page_errors']}"
    state_dirs = {learner.seen["who"]["state_dir"] for learner in classroom.learners}
    assert len(state_dirs) == LEARNER_COUNT  # a lab each


def test_the_instructor_pack_is_there_for_everyone(classroom: Classroom) -> None:
    for learner in classroom.learners:
        who = learner.seen["who"]
        assert PACK_NAME in who["scenarios"], who["scenarios"]
        assert "smtp-auth-tenant-off" in who["scenarios"]  # with the shipped ones
        assert who["pack_title"].startswith("Class pack:")
        assert who["pack_ok"], f"the pack's scenario did not behave as it says in {learner.name}'s kernel"


def test_no_learner_sees_another_learners_lab(classroom: Classroom) -> None:
    for learner in classroom.learners:
        peek = learner.seen["peek"]
        # The probe works: in its own lab's folder it reads the mailboxes and finds its own message.
        assert learner.secret in peek["own"]["found"], peek["own"]
        assert len(peek["own"]["read"]) > 3
        others = [o for o in classroom.learners if o is not learner]
        assert set(peek["others"]) == {o.name for o in others}
        for other in others:
            for what, seen in peek["others"][other.name].items():
                where = f"{learner.name}'s kernel, {other.name}'s {what}"
                assert not seen["found"], f"{where}: found {seen['found']}"
                assert not seen["read"], f"{where}: read {seen['read'][:10]}"
                assert seen["refused"], f"{where}: neither read nor refused"
                assert all(r.startswith("PermissionError") for r in seen["refused"]), seen["refused"]


def test_the_idle_culler_runs_with_the_values_settings(hub: Hub, classroom: Classroom) -> None:
    log = hub.log.read_text(errors="replace")
    assert "Starting managed service idle-culler" in log
    # Its first pass, at start-up: it lists the servers with its own token and scopes.
    assert re.search(r"200 GET /hub/api/users\?state=\S+ \(idle-culler@127\.0\.0\.1\)", log), log[-3000:]
    culler = [argv for _, argv in _children(hub.process.pid) if "jupyterhub_idle_culler" in argv]
    assert len(culler) == 1, "the idle culler is not running under the hub"
    assert "--timeout=3600" in culler[0] and "--cull-every=600" in culler[0], culler[0]


def test_memory_per_learner_is_measured(classroom: Classroom) -> None:
    """Sanity only: each learner has a server and a kernel, and the figures are in the file."""
    report = json.loads(MEMORY_FILE.read_text())
    assert report == classroom.memory
    for measured in report["learners"]:
        roles = sorted(p["role"] for p in measured["processes"])
        assert roles.count("server") == 1 and roles.count("kernel") == 1, measured["processes"]
        assert 0 < measured["pss_kb"] <= measured["rss_kb"] <= measured["peak_rss_kb"]
    print(f"\nhub classroom: {classroom.seconds:.0f} s; per learner {report['per_learner_mb']}")
