"""Fixtures for the real-browser test: JupyterLab on 127.0.0.1 and Debian's Chromium.

Nothing is downloaded: the browser is ``/usr/bin/chromium`` (``apt-get install
chromium``) driven by the Playwright package's bundled driver. Without chromium the
tests skip, except under CI (``CI`` or ``JUSTIRC_REQUIRE_BROWSER=1``), where they fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
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

CHROMIUM = Path(os.environ.get("JUSTIRC_CHROMIUM", "/usr/bin/chromium"))
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
]


def browser_required() -> bool:
    """True under CI, where a missing browser is a failure, not a skip."""
    return bool(os.environ.get("CI")) or os.environ.get("JUSTIRC_REQUIRE_BROWSER") == "1"


def skip_or_fail(reason: str) -> None:
    if browser_required():
        pytest.fail(f"{reason} (required because CI / JUSTIRC_REQUIRE_BROWSER=1 is set)")
    pytest.skip(f"{reason}; install it with `apt-get install -y chromium` to run this test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Lab:
    """A running JupyterLab."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen[bytes]
    log: Path
    kind: str = "lab"

    def notebook_url(self, name: str) -> str:
        if self.kind == "notebook":  # Notebook 7's single-document page
            return f"{self.url}/notebooks/{name}?token={self.token}"
        return f"{self.url}/lab/tree/{name}?token={self.token}&reset"


def panel_notebook(target: Path) -> None:
    """A copy of notebooks/02-chat-panel.ipynb that stays open and can be flooded.

    The clean-up cell is dropped (teardown stops the kernel); a last cell waits, in
    the background, for the panel user to type ``start flood`` and then makes the
    echo bot's session send 2,000 messages to ``#lab``.
    """
    book: dict[str, Any] = json.loads((REPO / "notebooks" / "02-chat-panel.ipynb").read_text())
    book["cells"] = [
        c for c in book["cells"] if "cleanup" not in c.get("metadata", {}).get("tags", [])
    ]
    flood = (
        "import asyncio\n\n"
        "async def flood_when_asked(n: int = 2000) -> None:\n"
        "    await panel.wait_until(\n"
        "        lambda s: any(e.own and e.text == 'start flood' for e in s.visible('#lab')),\n"
        "        timeout=600,\n"
        "    )\n"
        "    lab = echobot.channel('#lab')\n"
        "    for i in range(n):\n"
        "        await lab.send(f'flood {i}')\n\n"
        "flood_task = asyncio.get_running_loop().create_task(flood_when_asked())\n"
        "print('flood armed')"
    )
    book["cells"].append(
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "browser-flood",
            "metadata": {},
            "outputs": [],
            "source": flood,
        }
    )
    target.write_text(json.dumps(book))


def _wait_ready(lab: Lab, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited early; see {lab.log}")
        try:
            with urllib.request.urlopen(f"{lab.url}/api/status?token={lab.token}", timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise RuntimeError(f"JupyterLab did not start within {timeout} s; see {lab.log}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop JupyterLab and its kernels (its own process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
    # kernels started by the server are in the same group: make sure none is left
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} is missing, so the real-browser test cannot run")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        skip_or_fail("the playwright package is missing (pip install -e '.[dev]')")
    return CHROMIUM


def _start(kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Start JupyterLab (``kind="lab"``) or Notebook 7 (``"notebook"``) on a free port."""
    module = "jupyterlab" if kind == "lab" else "notebook"
    try:
        __import__(module)
    except ImportError:
        skip_or_fail(f"{module} is not installed (pip install -e '.[dev]')")
    root = tmp_path_factory.mktemp(kind)
    home = tmp_path_factory.mktemp("jupyter-home")
    panel_notebook(root / "panel.ipynb")
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        IPYTHONDIR=str(home / "ipython"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
    )
    # render every cell: with the windowed notebook, outputs of cells scrolled out of
    # view are not in the page at all, and the test waits for them
    tracker = home / "settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    app = "LabApp" if kind == "lab" else "JupyterNotebookApp"
    log = home / f"{kind}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                module,
                "--no-browser",
                "--ip=127.0.0.1",
                f"--port={port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={root}",
                f"--{app}.expose_app_in_browser=True",
                *(["--LabApp.news_url="] if kind == "lab" else []),
                "--allow-root",
            ],
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    lab = Lab(f"http://127.0.0.1:{port}", token, root, process, log, kind)
    try:
        _wait_ready(lab)
        yield lab
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def lab(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from _start("lab", tmp_path_factory)


@pytest.fixture(scope="module")
def notebook7(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from _start("notebook", tmp_path_factory)


@pytest.fixture
def page(chromium: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            yield context.new_page()
            context.close()
        finally:
            browser.close()
