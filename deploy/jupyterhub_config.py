"""JupyterHub for a class on mailflow-lab: one machine, each learner their own Unix user, server and lab.

This is the configuration tests/browser/test_jupyterhub.py runs (a real hub, configurable-http-proxy and
three learners in Chromium); deploy/values.yaml (Zero to JupyterHub) and deploy/TLJH.md (The Littlest
JupyterHub) carry the same per-learner limits and idle culling, and tests/test_deploy.py checks that they
agree with the constants below.

    MAILFLOW_HUB_PASSWORD=... MAILFLOW_HUB_LEARNERS=ana,ben jupyterhub -f deploy/jupyterhub_config.py

Run it as root from the environment the kit is installed in (the learners' servers are that environment's
`jupyterhub-singleuser`, started as each learner's own Unix user, who must exist and have a home folder).
What a site changes comes from the environment, and the addresses from the command line:

- MAILFLOW_HUB_PASSWORD: the class's shared password (8 characters or more). The shared-password
  authenticator is for a short class on a closed network only: anyone with the password can log in as
  any allowed learner. For anything longer, replace it (`c.JupyterHub.authenticator_class = "pam"` for
  the machine's own accounts, or an OAuthenticator); the rest of this file stays.
- MAILFLOW_HUB_LEARNERS: the learners' user names, separated by commas (each a Unix user of the machine).
- MAILFLOW_HUB_STATE: the hub's own folder (its database, cookie secret, proxy pid); /srv/jupyterhub.
- MAILFLOW_LAB_COURSE: the notebooks each learner gets on first login; the repository's notebooks/.
- MAILFLOW_LAB_SCENARIOS: the instructor's scenario packs, readable by every learner (see
  data/scenarios/README.md); /srv/mailflow-lab/scenarios, as in the image.
- Addresses: the hub listens on 127.0.0.1:8000 (put a TLS reverse proxy in front for a class), its API on
  127.0.0.1:8081, the proxy's API on 127.0.0.1:8001: `--JupyterHub.bind_url=http://127.0.0.1:PORT`,
  `--JupyterHub.hub_bind_url=...`, `--ConfigurableHTTPProxy.api_url=...` on the command line change them.
  configurable-http-proxy (npm) is found on PATH.
"""

import os
import pwd
import subprocess
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file

# -- the values Zero to JupyterHub (values.yaml) and TLJH (TLJH.md) repeat -------------------------------
# Memory per learner, measured by tests/browser/test_jupyterhub.py (test-output/hub-memory.json): after
# notebook 00 ran, the single-user server (155 MB RSS) and its kernel with the lab in it (126 MB), 282 MB
# RSS (226 MB PSS) in all, three learners at once on a 2-core machine. The guarantee is that, rounded up;
# the limit leaves room for the heavier notebooks (widgets, plots, a second lab in 05).
MEMORY_GUARANTEE = "320M"
MEMORY_LIMIT = "512M"
CPU_GUARANTEE = 0.05
CPU_LIMIT = 1
CULL_TIMEOUT = 3600  # seconds: a server idle for an hour is stopped (each holds its own lab)
CULL_EVERY = 600  # seconds between the culler's checks

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent  # the environment the hub runs from, with the kit installed
COURSE = Path(os.environ.get("MAILFLOW_LAB_COURSE") or HERE.parent / "notebooks")
SCENARIOS = os.environ.get("MAILFLOW_LAB_SCENARIOS") or "/srv/mailflow-lab/scenarios"
STATE = Path(os.environ.get("MAILFLOW_HUB_STATE") or "/srv/jupyterhub")
LEARNERS = {name.strip() for name in os.environ.get("MAILFLOW_HUB_LEARNERS", "").split(",") if name.strip()}

# -- the hub, on loopback ----------------------------------------------------------------------------
c.JupyterHub.bind_url = "http://127.0.0.1:8000"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:8081"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:8001"
c.ConfigurableHTTPProxy.command = ["configurable-http-proxy"]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.cleanup_servers = True  # the hub stopping stops the learners' servers (and their labs)

# -- who logs in --------------------------------------------------------------------------------------
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = os.environ.get("MAILFLOW_HUB_PASSWORD") or None
c.Authenticator.allowed_users = LEARNERS

# -- each learner's server: their own Unix user, so their lab's state and progress are theirs alone -------
# A lab keeps its mailboxes and trace in a folder of its own under /tmp, made mode 0700 by its kernel, and
# the progress file is in the learner's home: another Unix user can read neither. (SimpleLocalProcessSpawner,
# every learner as the hub's user, would let each kernel read the others'.)
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.ip = "127.0.0.1"
c.Spawner.notebook_dir = "~/notebooks"
c.Spawner.default_url = "/lab/tree/00-start-here.ipynb"
c.Spawner.environment = {"MAILFLOW_LAB_SCENARIOS": SCENARIOS}
c.Spawner.mem_guarantee = MEMORY_GUARANTEE  # LocalProcessSpawner passes these on (MEM_LIMIT...) but does
c.Spawner.mem_limit = MEMORY_LIMIT  # not enforce them; TLJH's systemd spawner and Kubernetes do
c.Spawner.cpu_guarantee = CPU_GUARANTEE
c.Spawner.cpu_limit = CPU_LIMIT
c.Spawner.start_timeout = 120  # a class logs in at once: servers start side by side
c.Spawner.http_timeout = 90
# A classroom JupyterLab stays offline: no news feed, no update check, no extension installs.
c.Spawner.args = [
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
    "--LabApp.extension_manager=readonly",
]

# Run as the learner: copy the course's notebooks that are not in ~/notebooks yet (theirs are never
# overwritten), the same files `make lab` copies into my-course/.
_COPY_COURSE = """
import pathlib, shutil, sys
course, mine = pathlib.Path(sys.argv[1]), pathlib.Path.home() / "notebooks"
mine.mkdir(mode=0o700, exist_ok=True)
for source in sorted([*course.glob("*.ipynb"), course / "README.md"]):
    if source.is_file() and not (mine / source.name).exists():
        shutil.copyfile(source, mine / source.name)
"""


def copy_course(spawner):
    """Give the learner the course on first login, copied by the learner's own user (never as root into
    a folder the learner controls)."""
    account = pwd.getpwnam(spawner.user.name)
    as_learner = {}
    if os.geteuid() == 0:
        as_learner = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    subprocess.run(
        [sys.executable, "-c", _COPY_COURSE, str(COURSE)],
        cwd=account.pw_dir,
        env={"HOME": account.pw_dir, "PATH": os.defpath},
        check=True,
        timeout=60,
        **as_learner,
    )


c.Spawner.pre_spawn_hook = copy_course

# -- idle culling, as deploy/values.yaml's cull: and TLJH's services.cull -----------------------------------
c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [
            sys.executable,
            "-m",
            "jupyterhub_idle_culler",
            f"--timeout={CULL_TIMEOUT}",
            f"--cull-every={CULL_EVERY}",
        ],
    }
]
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }
]
