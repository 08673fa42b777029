"""The course in a browser: JupyterLab on loopback, notebook 05's widgets clicked in headless Chromium."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from browser_kit import CHROMIUM, CHROMIUM_ARGS, write_lab_settings

from mailflow_lab.policy.advice import QUESTIONS, TITLES, DeviceFacts, recommend
from mailflow_lab.ui.wizard import CONNECTOR_BY_IP, EXTERNAL_RECIPIENT
from real_clients import needs

try:
    from playwright.sync_api import Locator, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the test extras
    HAVE_PLAYWRIGHT = False
else:
    HAVE_PLAYWRIGHT = True

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
NOTEBOOK = "05-choose-an-option.ipynb"
OUTPUT = ROOT / "test-output" / "browser"


pytestmark = [
    pytest.mark.slow,
    needs("chromium"),
    pytest.mark.skipif(
        not HAVE_PLAYWRIGHT,
        reason="playwright is not importable; install the test extras: pip install -e '.[test]'",
    ),
]

SERVER_START_TIMEOUT = 60  # seconds until /api/status answers
KERNEL_START_TIMEOUT_MS = 60_000  # the page loaded and the notebook's kernel connected
RUN_TIMEOUT_MS = 90_000  # the notebook's cells, up to the one that stops its labs
STEP_TIMEOUT_MS = 30_000  # one click's answer (a Send draws a diagram)

# The wizard's example: an old copier that cannot sign in, no TLS 1.2, mails outside, from a static IP.
COPIER = {"can_sign_in": False, "tls12_starttls_587": False, "needs_external": True, "static_ip": True}


# -- JupyterLab on loopback ----------------------------------------------------------------------------
@dataclass
class Server:
    url: str
    token: str
    process: subprocess.Popen[bytes]
    log: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status(url: str, token: str) -> dict[str, Any] | None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, never a proxy
    request = urllib.request.Request(f"{url}/api/status", headers={"Authorization": f"token {token}"})
    try:
        with opener.open(request, timeout=2) as response:
            return json.loads(response.read())
    except (OSError, urllib.error.URLError, ValueError):
        return None


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to JupyterLab (it shuts its kernels down), then SIGKILL to its own process group."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # kernels left behind; the group is ours alone
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


def _serve(tmp_path_factory: pytest.TempPathFactory, *, solutions: bool) -> Iterator[Server]:
    """JupyterLab on a copy of the notebooks; `solutions` as CI runs them, else as a learner meets them."""
    home = tmp_path_factory.mktemp("jupyterlab")
    root = home / "notebooks"
    shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    dirs = {name: home / name.lower() for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "IPYTHONDIR")}
    dirs |= {
        "TMPDIR": home / "tmp",  # the kernel's labs keep their state here, removed with pytest's tmp_path
        "JUPYTER_RUNTIME_DIR": home / "runtime",
        "JUPYTERLAB_SETTINGS_DIR": home / "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": home / "lab-workspaces",
    }
    for path in dirs.values():
        path.mkdir()
    write_lab_settings(dirs["JUPYTERLAB_SETTINGS_DIR"])
    env = {**os.environ, **{k: str(v) for k, v in dirs.items()}}
    env |= {"MAILFLOW_LAB_SOLUTIONS": "1" if solutions else "0", "MPLBACKEND": "Agg"}
    env |= {"NO_PROXY": "127.0.0.1,localhost", "MAILFLOW_LAB_PROGRESS": str(home / "progress.json")}
    env.pop("PYTHONWARNINGS", None)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    log = OUTPUT / f"jupyterlab{'' if solutions else '-learner'}.log"
    log.write_bytes(b"")
    server = _launch(root, env, log)
    try:
        yield server
    finally:
        _stop(server.process)


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _serve(tmp_path_factory, solutions=True)


@pytest.fixture(scope="module")
def learner_jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """JupyterLab as a learner meets it: no solutions, every exercise still `...`."""
    yield from _serve(tmp_path_factory, solutions=False)


def _command(root: Path, port: int, token: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.allow_root=True",  # CI machines run as root
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        # Offline: no announcements feed, no update check, no extension manager asking PyPI.
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]


def _launch(root: Path, env: dict[str, str], log: Path, attempts: int = 3) -> Server:
    """JupyterLab answering /api/status; a port another program took after `_free_port` gets a new one."""
    for attempt in range(1, attempts + 1):
        port, token = _free_port(), secrets.token_hex(24)
        with log.open("ab") as sink:
            process = subprocess.Popen(
                _command(root, port, token),
                cwd=root,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = Server(f"http://127.0.0.1:{port}", token, process, log)
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while _status(server.url, token) is None:
            if process.poll() is not None:
                break
            if time.monotonic() > deadline:
                _stop(process)
                pytest.fail(f"JupyterLab did not answer /api/status in {SERVER_START_TIMEOUT} s; see {log}")
            time.sleep(0.25)
        else:
            return server
        _stop(process)
        if b"already in use" not in log.read_bytes() or attempt == attempts:
            pytest.fail(f"JupyterLab exited with {process.returncode}; see {log}")
    raise AssertionError("unreachable")


# -- the notebook in Chromium -------------------------------------------------------------------------
def _shot(page: Page, name: str, locator: Locator | None = None) -> Path:
    """A screenshot of the page, or of one element (clipped to the notebook's scroll area when taller)."""
    path = OUTPUT / f"{name}.png"
    if locator is not None:
        locator.scroll_into_view_if_needed()
        locator.screenshot(path=path)
    else:
        page.screenshot(path=path)
    return path


def _kernel_status(page: Page, status: str) -> Locator:
    """The status bar's kernel item ("Python 3 (ipykernel) | Idle") when it shows `status`."""
    return page.locator("#jp-main-statusbar").get_by_text(re.compile(rf" \| {status}$"))


def assert_widgets_render(page: Page) -> None:
    """Widgets are drawn by the widget manager: no error box, no placeholder left, at least one widget."""
    missing = "no widget drawn: is the widget manager (jupyterlab_widgets) missing from JupyterLab?"
    expect(page.locator(".jp-OutputArea-output .jupyter-widgets").first, missing).to_be_visible(
        timeout=STEP_TIMEOUT_MS
    )
    loading = "a widget still shows 'Loading widget...': the widget manager never drew it"
    expect(page.get_by_text("Loading widget..."), loading).to_have_count(0, timeout=STEP_TIMEOUT_MS)
    assert page.get_by_text("Error displaying widget").count() == 0, "a widget failed to display"


def _menu(page: Page, menu: str, item: str) -> None:
    """Choose an item of the main menu bar, as a learner does."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{re.escape(menu)}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(item)}$")).click()


def _run_notebook(page: Page) -> None:
    """Run every cell above the last one when the last one stops the labs (the widgets need them running)."""
    cells = page.locator(".jp-Notebook .jp-Cell")
    expect(cells.first).to_be_visible(timeout=STEP_TIMEOUT_MS)
    last = cells.last
    stops_labs = ".stop()" in last.locator(".jp-InputArea-editor").inner_text()
    if stops_labs:
        last.locator(".jp-InputPrompt").click()
        command = "Run All Above Selected Cell"
    else:
        command = "Run All Cells"
    _menu(page, "Run", command)
    code = page.locator(".jp-Notebook .jp-CodeCell")
    to_run = code.count() - (1 if stops_labs else 0)
    # Every cell that should run shows its execution count; a failing cell stops the run with a traceback.
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    while True:
        prompts = [code.nth(i).locator(".jp-InputPrompt").inner_text() for i in range(to_run)]
        if all(re.fullmatch(r"\[\d+\]:", p.strip()) for p in prompts):
            break
        tracebacks = page.locator(".jp-OutputArea-output", has_text="Traceback")
        if tracebacks.count():
            _shot(page, "05-run-failed")
            pytest.fail(f"a cell failed in the browser:\n{tracebacks.first.inner_text()[:3000]}")
        if time.monotonic() > deadline:
            _shot(page, "05-run-timeout")
            pytest.fail(f"the notebook did not finish in {RUN_TIMEOUT_MS // 1000} s; prompts: {prompts}")
        page.wait_for_timeout(250)
    expect(_kernel_status(page, "Idle")).to_have_count(1, timeout=STEP_TIMEOUT_MS)
    assert page.locator(".jp-OutputArea-output", has_text="Traceback").count() == 0


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    """One Playwright for the module (its sync API cannot run twice at once)."""
    with sync_playwright() as engine:
        yield engine


@contextlib.contextmanager
def _opened(playwright: Any, server: Server, name: str) -> Iterator[Page]:
    """A notebook opened in headless Chromium and run (all but a last cell that stops its labs)."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 2000})
        page = context.new_page()
        page.set_default_timeout(STEP_TIMEOUT_MS)
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.goto(f"{server.url}/lab/tree/{name}?reset&token={server.token}")  # reset: no tabs restored
        # The kernel is started and connected (the execution indicator says idle before that).
        expect(_kernel_status(page, "Idle")).to_have_count(1, timeout=KERNEL_START_TIMEOUT_MS)
        _run_notebook(page)
        yield page
        assert not problems, f"JavaScript errors in the page: {problems}"
    finally:
        browser.close()


@pytest.fixture(scope="module")
def notebook(playwright: Any, jupyterlab: Server) -> Iterator[Page]:
    """Notebook 05 opened in headless Chromium and run; the page stays open for the tests of this module."""
    with _opened(playwright, jupyterlab, NOTEBOOK) as page:
        assert_widgets_render(page)
        _shot(page, "05-after-run")
        yield page


# -- the tests -----------------------------------------------------------------------------------------
def _wizard(page: Page) -> Locator:
    return page.locator(".jp-OutputArea-output", has=page.get_by_role("button", name="Recommend"))


def test_wizard_recommends_from_clicked_answers(notebook: Page) -> None:
    page = notebook
    wizard = _wizard(page)
    expect(wizard).to_have_count(1)
    for name, question in QUESTIONS.items():
        answer = "Yes" if COPIER.get(name, False) else "No"
        toggles = wizard.locator(".widget-html", has_text=question).locator(
            "xpath=following-sibling::*[contains(@class, 'widget-toggle-buttons')]"
        )
        button = toggles.get_by_role("button", name=answer, exact=True)
        button.click()
        expect(button).to_have_class(re.compile(r"\bmod-active\b"))

    expected = recommend(DeviceFacts(**COPIER), connector_name=CONNECTOR_BY_IP)
    assert expected.option == "relay"
    wizard.get_by_role("button", name="Recommend").click()
    answer = wizard.locator(".widget-html", has_text="Recommended:")
    expect(answer.locator("h3")).to_have_text(f"Recommended: {TITLES[expected.option]}")
    expect(answer).to_contain_text(expected.reason)
    _shot(page, "05-wizard-answer", answer)
    _shot(page, "05-wizard", wizard)  # the clicked answers above the recommendation

    wizard.get_by_role("button", name="Try it in the lab").click()
    expect(answer).to_contain_text("Tried in the lab", timeout=STEP_TIMEOUT_MS)
    tried = answer.inner_text()
    assert re.search(r"Reply: \d{3} ", tried), f"no SMTP reply in the wizard's lab run:\n{tried}"
    assert "connection failed" not in tried, f"the wizard's lab is not running:\n{tried}"
    outcome = answer.locator("li", has_text=f"{EXTERNAL_RECIPIENT}:")
    expect(outcome).to_have_count(1)
    _shot(page, "05-wizard-tried", answer)
    assert_widgets_render(page)


def _cell(page: Page, index: int) -> Locator:
    """The notebook's cell at `index` (markdown cells count, as in the .ipynb)."""
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def _run_cell(page: Page, index: int) -> Locator:
    """Run one cell, as a learner does with its prompt selected; its output area once it has finished."""
    cell = _cell(page, index)
    before = cell.locator(".jp-InputPrompt").inner_text().strip()
    cell.locator(".jp-InputPrompt").click()
    _menu(page, "Run", "Run Selected Cell and Do not Advance")
    expect(cell.locator(".jp-InputPrompt")).not_to_have_text(before, timeout=STEP_TIMEOUT_MS)
    expect(cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"^\[\d+\]:$"), timeout=STEP_TIMEOUT_MS)
    expect(_kernel_status(page, "Idle")).to_have_count(1, timeout=STEP_TIMEOUT_MS)
    return cell.locator(".jp-OutputArea")


def _type_into(page: Page, index: int, source: str) -> None:
    """Replace a cell's code with `source`, as typed (inserted whole: no auto-closed quotes)."""
    editor = _cell(page, index).locator(".jp-InputArea-editor .cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(source)


def _code_index(page: Page, starts: str) -> int:
    cells = page.locator(".jp-Notebook .jp-Cell")
    for index in range(cells.count()):
        if cells.nth(index).locator(".jp-InputArea-editor").inner_text().startswith(starts):
            return index
    raise AssertionError(f"no cell starts with {starts!r}")


def test_the_comparison_table_holds_after_try_it(notebook: Page) -> None:
    """The wizard tried its set-up in a lab of its own: the notebook's comparison still runs as written."""
    page = notebook
    table = _code_index(page, "import ipaddress")
    for index in (table, table + 1):
        output = _run_cell(page, index)
        assert output.locator(".jp-OutputArea-output", has_text="Traceback").count() == 0, output.inner_text()
        assert "AssertionError" not in output.inner_text()


def _send_button(scope: Page | Locator) -> Locator:
    # By its text: the button's icon (a Font Awesome glyph) is part of its accessible name.
    return scope.locator("button.widget-button", has_text=re.compile(r"^\s*Send\s*$"))


def _explorer(page: Page) -> Locator:
    return page.locator(".jp-OutputArea-output", has=_send_button(page))


def _server_line(transcript: Locator, reply: str) -> Locator:
    """The last server line of the transcript that starts with the reply (code and enhanced code)."""
    pattern = re.compile(rf"^\s*server\s+{re.escape(reply)}[ -]")
    return transcript.locator('.mfl-line[data-side="S"]', has_text=pattern).last


def test_explorer_send_shows_transcript(notebook: Page) -> None:
    page = notebook
    explorer = _explorer(page)
    expect(explorer).to_have_count(1)
    outcome = explorer.locator(".mfl-outcome")
    transcript = explorer.locator(".mfl-transcript")

    # The notebook left the explorer on direct send to Fabrikam (refused); switch to SMTP AUTH: accepted.
    explorer.get_by_role("button", name="SMTP AUTH", exact=True).click()
    _send_button(explorer).click()
    expect(outcome).to_contain_text("Accepted", timeout=STEP_TIMEOUT_MS)
    expect(_server_line(transcript, "235")).to_be_visible()  # signed in as the scanner mailbox
    expect(_server_line(transcript, "250")).to_be_visible()
    _shot(page, "05-explorer-accepted", transcript)

    explorer.get_by_role("button", name="Direct send", exact=True).click()
    _send_button(explorer).click()
    expect(outcome).to_contain_text("Refused at", timeout=STEP_TIMEOUT_MS)
    expect(_server_line(transcript, "550 5.7.64")).to_be_visible()
    _shot(page, "05-explorer-refused", transcript)
    assert_widgets_render(page)


def test_notebook_stops_its_labs(notebook: Page) -> None:
    """The last cell, left out of the run so the widgets had running labs, stops them cleanly."""
    page = notebook
    cells = page.locator(".jp-Notebook .jp-CodeCell")
    last = cells.nth(cells.count() - 1)  # pinned: running a last cell may append an empty one
    if ".stop()" not in last.locator(".jp-InputArea-editor").inner_text():
        pytest.skip("the notebook's last cell stops no lab")
    last.locator(".jp-InputPrompt").click()
    _menu(page, "Run", "Run Selected Cell and Do not Advance")
    expect(last.locator(".jp-InputPrompt")).to_have_text(re.compile(r"^\[\d+\]:$"), timeout=STEP_TIMEOUT_MS)
    expect(_kernel_status(page, "Idle")).to_have_count(1, timeout=STEP_TIMEOUT_MS)
    assert last.locator(".jp-OutputArea-output", has_text="Traceback").count() == 0


# -- as a learner meets the course: no solutions ------------------------------------------------------------
SPF_EXERCISE = (
    'from mailflow_lab.ui import course\n\nmy_spf = {answer}\n\nmy_spf = course.answer("01.spf", my_spf)'
)


def test_an_exercise_left_blank_then_wrong_then_right(playwright: Any, learner_jupyterlab: Server) -> None:
    with _opened(playwright, learner_jupyterlab, "01-dns-for-mail-flow.ipynb") as page:
        exercise = _code_index(page, "from mailflow_lab.ui import course")
        check = exercise + 1
        blank = _cell(page, exercise).locator(".jp-OutputArea").inner_text()
        assert "The SPF exercise is not done yet: replace `...` with an SPF record" in blank
        expect(_cell(page, check).locator(".jp-OutputArea")).to_contain_text(
            "Do The SPF exercise above first"
        )
        _shot(page, "01-exercise-blank", _cell(page, exercise))

        _type_into(page, exercise, SPF_EXERCISE.format(answer='"v=spf1 -all"'))
        _run_cell(page, exercise)
        wrong = _run_cell(page, check)
        expect(wrong).to_contain_text("Not yet: the office gets fail")
        assert "Traceback" not in wrong.inner_text()
        _shot(page, "01-exercise-wrong", _cell(page, check))

        right = '"v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com -all"'
        _type_into(page, exercise, SPF_EXERCISE.format(answer=right))
        _run_cell(page, exercise)
        expect(_run_cell(page, check)).to_contain_text(
            "Both the office and Microsoft 365 may send as contoso.com"
        )
        after = _run_cell(page, check + 1)  # the cell that builds on the fix runs now
        assert "Traceback" not in after.inner_text() and "Solve" not in after.inner_text()
        _shot(page, "01-exercise-right", _cell(page, check))


def test_a_ticket_is_reset(playwright: Any, learner_jupyterlab: Server) -> None:
    with _opened(playwright, learner_jupyterlab, "06-troubleshooting.ipynb") as page:
        ticket = page.locator(".jp-OutputArea-output", has=page.get_by_role("button", name="Check"))
        expect(ticket).to_have_count(1)
        ticket.get_by_role("button", name="Reset").click()
        expect(ticket).to_contain_text(
            "Reset: the ticket is as it was first reported.", timeout=STEP_TIMEOUT_MS
        )
        ticket.get_by_role("button", name="Check").click()
        expect(ticket).not_to_contain_text("Solved", timeout=STEP_TIMEOUT_MS)
        _shot(page, "06-ticket-reset", ticket)
