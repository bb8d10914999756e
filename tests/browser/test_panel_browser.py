"""The chat panel in a real JupyterLab, driven by Debian's Chromium through Playwright."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from .conftest import ARTIFACTS, Lab

_log = logging.getLogger(__name__)

EVIL = "<img src=x onerror=alert(1)>"
FLOOD = 2000


def send(page: Any, text: str) -> None:
    """Type into the panel's input box and press its Send button."""
    box = page.locator(".justirc-input input")
    box.fill(text)
    page.locator(".justirc-send").click()


def output(page: Any, text: str | re.Pattern[str]) -> Any:
    return page.locator(".jp-OutputArea-output", has_text=text)


def message(page: Any, text: str) -> Any:
    return page.locator(".justirc-message-list .justirc-msg", has_text=text)


def test_panel_in_jupyterlab(lab: Lab, page: Any) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.set_default_timeout(90_000)
    page.goto(lab.notebook_url("panel.ipynb"))
    page.wait_for_function(
        "() => window.jupyterapp && document.querySelector('.jp-Notebook')", timeout=90_000
    )
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        " return w && w.sessionContext && w.sessionContext.session"
        " && w.sessionContext.session.kernel"
        " && w.sessionContext.session.kernel.connectionStatus === 'connected'; }",
        timeout=90_000,
    )
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")

    page.locator(".justirc-panel").wait_for(state="visible")
    # the printed line alone: a traceback quoting the print statement must not match
    output(page, re.compile(r"^\s*echobot answered in #lab\s*$")).wait_for()
    output(page, "flood armed").wait_for()
    # the security header and the channel view
    header = page.locator(".justirc-security-header")
    assert "end-to-end encrypted" in header.inner_text()
    assert "fingerprint" in header.inner_text()
    assert "echobot" in page.locator(".justirc-member-list").inner_text()

    send(page, "hi from chromium")
    message(page, "hi from chromium").first.wait_for()
    message(page, "echo: hi from chromium").wait_for()

    send(page, EVIL)
    message(page, "echo: " + EVIL).wait_for()  # shown as text
    assert message(page, EVIL).count() == 2
    assert page.locator(".justirc-message-list img").count() == 0
    assert page.locator("img[src='x']").count() == 0
    assert dialogs == []

    ARTIFACTS.mkdir(exist_ok=True)
    panel = page.locator(".justirc-panel")
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(ARTIFACTS / "panel.png"))

    send(page, "start flood")
    start = time.monotonic()
    message(page, f"flood {FLOOD - 1}").wait_for(state="visible", timeout=300_000)
    elapsed = time.monotonic() - start
    report = f"browser showed {FLOOD} flooded messages {elapsed:.2f} s after 'start flood'"
    _log.warning(report)
    print(report)
    (ARTIFACTS / "timing.txt").write_text(report + "\n")
    page.screenshot(path=str(ARTIFACTS / "panel-after-flood.png"))
    assert dialogs == []
