"""A throw-away JupyterLab and a Chromium driven by Playwright, for the browser tests.

JupyterLab runs from this Python (``sys.executable -m jupyter lab``) on a free loopback port,
serving a temporary COPY of the lessons: running cells marks a notebook dirty, and nothing that
happens in the browser may touch the repository. Its settings, workspaces, runtime, config and
data dirs are temporary too (so no one's personal Jupyter set-up leaks in), with the news
pop-up, the update check and autosave off, and every cell kept in the DOM (windowing off) so
the tests can find widgets anywhere in a notebook. It is stopped by its PID at the end.

Chromium is Debian's (``/usr/bin/chromium`` or ``chromium`` on PATH); Playwright never
downloads a browser here. Without it every browser test is skipped, with the reason.

``SHORTCUT_NOTEBOOKS=/some/dir`` points every notebook test at another folder of
``NN_name.ipynb`` files (used while developing the tests against scratch notebooks).
"""

from __future__ import annotations

import json
import os
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

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = Path(os.environ.get("SHORTCUT_NOTEBOOKS", ROOT / "notebooks"))
SCREENSHOT_DIR = ROOT / "build" / "screenshots"
LAB_START_TIMEOUT_S = 90  # usually ~2 s; generous for a loaded CI machine
LAB_START_ATTEMPTS = 3  # a free port can be taken between choosing it and Lab binding it


def find_chromium() -> str | None:
    """Debian's Chromium, or ``chromium`` on PATH; None when neither exists."""
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


CHROMIUM = find_chromium()
SKIP_REASON = (
    "Chromium not found (/usr/bin/chromium or `chromium` on PATH): "
    "install it with `apt-get install chromium` to run the browser tests"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)
            if CHROMIUM is None:
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


# Lab's user settings, one file per plugin, as the Settings Editor would write them.
LAB_SETTINGS = {
    # No "Would you like to receive official Jupyter news?" pop-up, no network fetch.
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    # Running cells makes the notebook dirty; never write it back.
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    # Keep every cell attached to the DOM, so widgets below the fold can be found.
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}

# Lab extensions switched off in the test's own config dir (never in the venv's, which others
# share). jupyterlab-rise and sliveshow both define the `slideshow:*` commands and conflict;
# the project presents live with sliveshow (rise shows the explorers as text).
LAB_DISABLED_EXTENSIONS = {"jupyterlab-rise": True}


@dataclass
class LabServer:
    url: str  # http://127.0.0.1:PORT
    token: str  # random per run: even a loopback server should not run anyone's code
    root_dir: Path  # the temporary copy of notebooks/ that Lab serves
    log: Path
    process: subprocess.Popen

    def api(self, method: str, path: str) -> object:
        request = urllib.request.Request(
            self.url + path, method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def page_url(self, path: str, **query: str) -> str:
        """A Lab page's address, logged in with the token."""
        params = "".join(f"&{key}={value}" for key, value in query.items())
        return f"{self.url}{path}?token={self.token}{params}"

    def shut_down_kernels(self) -> None:
        """End every session (and its kernel), so the next notebook starts fresh."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_lab_settings(settings_dir: Path) -> None:
    for plugin, values in LAB_SETTINGS.items():
        path = settings_dir / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def write_page_config(config_dir: Path) -> None:
    """``labconfig/page_config.json`` in Lab's config dir: which extensions stay off."""
    path = config_dir / "labconfig" / "page_config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"disabledExtensions": LAB_DISABLED_EXTENSIONS}))


def copy_notebooks(target: Path) -> None:
    shutil.copytree(
        NOTEBOOK_DIR,
        target,
        ignore=shutil.ignore_patterns("assignments", ".ipynb_checkpoints", "__pycache__"),
    )


def wait_until_ready(server: LabServer, deadline: float) -> bool:
    """True once Lab answers /api/status; False if the process died first."""
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            server.api("GET", "/api/status")
            # The Lab page itself (not only the API) must be served before Chromium goes there.
            with urllib.request.urlopen(server.page_url("/lab"), timeout=10) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
            pass
        time.sleep(0.2)
    return False


def stop(process: subprocess.Popen) -> None:
    """Stop Lab by its PID: SIGTERM (it shuts its kernels down), SIGKILL if it hangs."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def start_lab(base: Path) -> LabServer:
    root_dir = base / "notebooks"
    copy_notebooks(root_dir)
    env = dict(os.environ)
    for name in ("SETTINGS", "WORKSPACES"):
        path = base / name.lower()
        path.mkdir()
        env[f"JUPYTERLAB_{name}_DIR"] = str(path)
    for name in ("RUNTIME", "CONFIG", "DATA"):
        path = base / f"jupyter_{name.lower()}"
        path.mkdir()
        env[f"JUPYTER_{name}_DIR"] = str(path)
    env["IPYTHONDIR"] = str(base / "ipython")
    write_lab_settings(base / "settings")
    write_page_config(base / "jupyter_config")
    log = base / "lab.log"
    last_failure = ""
    token = secrets.token_hex(16)
    env["JUPYTER_TOKEN"] = token  # not on the command line, where `ps` would show it
    for _attempt in range(LAB_START_ATTEMPTS):
        port = free_port()
        command = [
            sys.executable, "-m", "jupyter", "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",  # fail fast and retry here, rather than drift
            f"--ServerApp.root_dir={root_dir}",
            "--ServerApp.terminals_enabled=False",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]  # fmt: skip
        if os.geteuid() == 0:
            command.append("--allow-root")
        with log.open("a") as log_file:
            process = subprocess.Popen(
                command, cwd=base, env=env, stdout=log_file, stderr=subprocess.STDOUT
            )
        server = LabServer(f"http://127.0.0.1:{port}", token, root_dir, log, process)
        if wait_until_ready(server, time.monotonic() + LAB_START_TIMEOUT_S):
            return server
        stop(process)
        last_failure = server.log_tail()
    raise RuntimeError(f"JupyterLab did not start in {LAB_START_ATTEMPTS} tries:\n{last_failure}")


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A JupyterLab serving a temporary copy of the lessons; stopped by its PID at the end."""
    server = start_lab(tmp_path_factory.mktemp("lab"))
    try:
        yield server
    finally:
        try:
            server.shut_down_kernels()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass  # Lab already gone: SIGTERM below is a no-op
        stop(server.process)


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """Debian's Chromium under Playwright's sync API.

    Module-scoped on purpose: the sync API keeps an asyncio loop marked as running on this
    thread while it is open, which would confuse later nbclient/nbval code in the same session.
    """
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    sync_playwright = sync_api.sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
                "--disable-dev-shm-usage",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR
