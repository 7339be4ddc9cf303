"""Browser fixtures: one headless Chromium per test session (Debian's, never a
downloaded one), a fresh page per test, page errors collected, screenshots saved."""
import os
import shutil
import time

import pytest

CHROMIUM = os.environ.get("PASTALOG_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    pw = sync_api.sync_playwright().start()
    b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
    yield b
    b.close()
    pw.stop()


class Page:
    """A Playwright page on the test's server, with helpers and collected errors."""

    def __init__(self, page, server, tmp_path):
        self.page = page
        self.server = server
        self.tmp_path = tmp_path
        self.errors = []
        self.dialogs = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", self._console)

    def _console(self, msg):
        # the browser itself logs a refused websocket while the server is down: that
        # is the situation under test in the reconnect test, not a page error
        if msg.type == "error" and not msg.text.startswith("WebSocket connection to"):
            self.errors.append(msg.text)

    def open(self, query=""):
        self.page.goto(self.server.url + "/" + query)
        self.poll("window.__pastalog && window.__pastalog.state().live === 'live'")
        return self

    def poll(self, expression, timeout=10.0):
        """Evaluate ``expression`` until it is truthy; return its value.

        (Playwright's wait_for_function compiles its predicate with eval, which the
        page's Content-Security-Policy rightly forbids, so we poll from Python.)
        """
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                last = self.page.evaluate(expression)
            except Exception as exc:  # page still loading: the hook is not there yet
                last = exc
            if last and not isinstance(last, Exception):
                return last
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {expression!r}; last: {last!r}")
            time.sleep(0.05)

    def state(self):
        return self.page.evaluate("window.__pastalog.state()")

    def wait_for(self, js_predicate, timeout=10.0):
        """Wait until ``js_predicate`` (an expression over ``s``, the debug state) is true."""
        self.poll(f"(() => {{ const s = window.__pastalog.state(); return !!({js_predicate}); }})()", timeout)
        return self.state()

    def screenshot(self, name):
        path = self.tmp_path / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path


@pytest.fixture
def page(browser, server, tmp_path):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    p = ctx.new_page()
    wrapped = Page(p, server, tmp_path)
    yield wrapped
    ctx.close()
