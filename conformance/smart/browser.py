"""Headless Chromium (Debian's /usr/bin/chromium and /usr/bin/chromedriver,
through Selenium) for the authorization pages, and the app's redirect URI:
a small HTTP listener on the registered callback port that records what the
authorization server sent the browser to. Every page the browser shows is
kept as a PNG screenshot under the artifacts directory.
"""

import html
import os
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from harness import check, wait_until

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


class Callback:
    """The app's redirect URI: remembers each request's full URL."""

    def __init__(self, port):
        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                seen.append(f"http://127.0.0.1:{port}{self.path}")
                # What arrived, for the screenshot: parameter names, state,
                # and the code's length only (it is a credential, if spent).
                rows = "".join(
                    f"<li><code>{html.escape(k)}</code>: "
                    f"{html.escape(v if k != 'code' else f'({len(v)} characters)')}</li>"
                    for k, v in parse_qsl(urlsplit(self.path).query))
                body = ("<!doctype html><html><head><title>App callback</title></head>"
                        "<body><h1>The app received the authorization response</h1>"
                        f"<p>At its redirect URI <code>{html.escape(self.path.split('?')[0])}</code>:</p>"
                        f"<ul>{rows}</ul></body></html>").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def next_after(self, count, timeout=20):
        """The first URL received after `count` had been seen."""
        return wait_until(lambda: self.seen[count] if len(self.seen) > count else None, timeout)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Browser:
    """One headless Chromium; `shot(name)` saves the current page."""

    def __init__(self, artifacts):
        for path in (CHROMIUM, CHROMEDRIVER):
            check(os.access(path, os.X_OK), f"{path} is installed (run.sh installs Debian's chromium)")
        self.artifacts = artifacts
        self.count = 0
        self.profile = tempfile.TemporaryDirectory(prefix="smart-chromium-")
        opts = Options()
        opts.binary_location = CHROMIUM
        # The flags that keep Chromium off the network it cannot reach here
        # (background updates, sync, QUIC), headless, as root in a container.
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1024,900",
                    f"--user-data-dir={self.profile.name}"):
            opts.add_argument(arg)
        self.driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
        self.driver.set_page_load_timeout(30)

    def shot(self, name):
        self.count += 1
        path = os.path.join(self.artifacts, f"{name}.png")
        self.driver.save_screenshot(path)
        return path

    def open(self, url):
        self.driver.get(url)

    def fill(self, field_id, value):
        el = self.driver.find_element(By.ID, field_id)
        el.clear()
        el.send_keys(value)

    def click(self, css):
        self.driver.find_element(By.CSS_SELECTOR, css).click()

    def wait_for(self, css, timeout=15):
        WebDriverWait(self.driver, timeout).until(lambda d: d.find_elements(By.CSS_SELECTOR, css))

    def has(self, css):
        return bool(self.driver.find_elements(By.CSS_SELECTOR, css))

    @property
    def title(self):
        return self.driver.title

    @property
    def url(self):
        return self.driver.current_url

    def close(self):
        try:
            self.driver.quit()
        finally:
            self.profile.cleanup()


def sign_in(browser, callback, url, user, label, patient=None):
    """Walks the pages in Chromium: login, the picker when shown (choosing
    `patient`), consent (Allow). Returns the URL the app's redirect URI got.
    Screenshots: <label>-1-login, -2-picker, -3-consent, -4-redirect."""
    before = len(callback.seen)
    browser.open(url)
    browser.wait_for("#username")
    browser.fill("username", user[0])
    browser.fill("password", user[1])
    browser.shot(f"{label}-1-login")
    browser.click("form button[type=submit]")
    browser.wait_for("input[name=patient], button[name=decision], h1")
    if browser.has("input[name=patient]"):
        check(patient is not None, "no patient picker expected here")
        browser.click(f"input[name=patient][value='{patient}']")
        browser.shot(f"{label}-2-picker")
        browser.click("button[name=action][value=select]")
        browser.wait_for("button[name=decision]")
    check(browser.has("button[name=decision]"), f"a consent page (got '{browser.title}')")
    browser.shot(f"{label}-3-consent")
    browser.click("button[name=decision][value=allow]")
    got = callback.next_after(before)
    check(got is not None, f"the browser reached the redirect URI (it is at {browser.url})")
    wait_until(lambda: browser.url.startswith(got.split("?")[0]), timeout=10)
    browser.shot(f"{label}-4-redirect")
    return got
