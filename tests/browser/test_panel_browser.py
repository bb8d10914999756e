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


CONTRAST_JS = """(selector) => {
  const el = document.querySelector(selector);
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 4).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
  const layers = [];  // translucent backgrounds are blended over their ancestors'
  for (let n = el; n; n = n.parentElement) {
    const c = rgb(getComputedStyle(n).backgroundColor);
    const a = c.length < 4 ? 1 : c[3];
    if (a > 0) { layers.push([c[0], c[1], c[2], a]); if (a >= 1) break; }
  }
  let bg = [255, 255, 255];
  for (const [r, g, b, a] of layers.reverse()) {
    bg = [r * a + bg[0] * (1 - a), g * a + bg[1] * (1 - a), b * a + bg[2] * (1 - a)];
  }
  const fg = lum(rgb(getComputedStyle(el).color)), b = lum(bg);
  return (Math.max(fg, b) + 0.05) / (Math.min(fg, b) + 0.05);
}"""


def send(page: Any, text: str) -> None:
    """Type into the panel's input box and press its Send button."""
    box = page.locator(".justirc-input input")
    box.fill(text)
    page.locator(".justirc-send").click()


def output(page: Any, text: str | re.Pattern[str]) -> Any:
    return page.locator(".jp-OutputArea-output", has_text=text)


def message(page: Any, text: str) -> Any:
    return page.locator(".justirc-message-list .justirc-msg", has_text=text)


def open_and_run(page: Any, app: Lab) -> None:
    """Open the panel notebook, run all cells, wait for the panel and the bot's answer."""
    page.goto(app.notebook_url("panel.ipynb"))
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


def test_panel_in_jupyterlab(lab: Lab, page: Any) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.set_default_timeout(90_000)
    open_and_run(page, lab)
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

    for selector in (".justirc-msg.justirc-own", ".justirc-msg:not(.justirc-own)"):
        ratio = page.evaluate(CONTRAST_JS, selector)
        assert ratio >= 4.5, f"{selector}: contrast {ratio:.2f} in the light theme"

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

    # the same panel in JupyterLab's dark theme: every message stays readable
    page.evaluate(
        "() => window.jupyterapp.commands.execute('apputils:change-theme',"
        " {theme: 'JupyterLab Dark'})"
    )
    page.wait_for_function(
        "() => document.body.getAttribute('data-jp-theme-name') === 'JupyterLab Dark'",
        timeout=30_000,
    )
    send(page, "readable in the dark")  # after the flood the window holds only the bot's
    message(page, "echo: readable in the dark").wait_for()
    panel.screenshot(path=str(ARTIFACTS / "panel-dark.png"))
    for selector in (".justirc-msg.justirc-own", ".justirc-msg:not(.justirc-own)"):
        ratio = page.evaluate(CONTRAST_JS, selector)
        assert ratio >= 4.5, f"{selector}: contrast {ratio:.2f} in the dark theme"


def test_panel_in_notebook7(notebook7: Lab, page: Any) -> None:
    """The same panel in Notebook 7's single-document page."""
    page.set_default_timeout(90_000)
    open_and_run(page, notebook7)
    send(page, "hi from notebook 7")
    message(page, "echo: hi from notebook 7").wait_for()
    send(page, EVIL)
    message(page, "echo: " + EVIL).wait_for()
    assert page.locator(".justirc-message-list img").count() == 0
    for selector in (".justirc-msg.justirc-own", ".justirc-msg:not(.justirc-own)"):
        ratio = page.evaluate(CONTRAST_JS, selector)
        assert ratio >= 4.5, f"{selector}: contrast {ratio:.2f} in Notebook 7"
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".justirc-panel").screenshot(path=str(ARTIFACTS / "panel-notebook7.png"))
