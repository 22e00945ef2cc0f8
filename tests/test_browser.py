"""The review page in real headless Chromium (Debian's ``chromium`` package, driven by Playwright for Python;
no browser download), against a uvicorn server this module starts on 127.0.0.1 with a store built from the
demo corpus and fixture suggestions. Skips cleanly when /usr/bin/chromium or playwright is missing."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.review_data import SCRIPT_TEXT, seed

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
]
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")
expect = playwright_api.expect


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, test_embedder):
    from nrtd_nlp.config import Settings
    from nrtd_nlp.services.auth import create_key
    from nrtd_nlp.services.context import Engine

    root = tmp_path_factory.mktemp("browser")
    settings = Settings(home=root / "home", cache_dir=root / "cache", embedder="minilm-test", tag_on_import=False)
    engine = Engine(settings, embedder=test_embedder)
    demo = Path(__file__).resolve().parents[1] / "nrtd_nlp" / "corpora" / "demo" / "demo_recommendations.csv"
    seed(engine, demo)
    keys = {role: create_key(engine, name, role)["key"]
            for role, name in (("reviewer", "rita"), ("reader", "rex"))}
    port = _free_port()
    env = dict(os.environ, NRTD_HOME=str(settings.home), NRTD_CACHE_DIR=str(settings.cache_dir),
               NRTD_EMBEDDER="minilm-test", NRTD_LINK_ON_IMPORT="false", NRTD_TAG_ON_IMPORT="false",
               NRTD_WARM_TAGGERS="false", OMP_NUM_THREADS="1")
    log = open(root / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "nrtd_nlp.api.main:create_app", "--factory",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError((root / "server.log").read_text())
                time.sleep(0.1)
        else:
            raise RuntimeError("the server did not start in 60 s")
        yield {"base": base, "keys": keys, "engine": engine}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
        engine.close()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture()
def page(browser, server):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    pg.set_default_timeout(15_000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.errors = errors
    yield pg
    ctx.close()


def sign_in(page, server, role="reviewer"):
    page.goto(server["base"] + "/ui/")
    assert page.url.endswith("/ui/login")
    page.fill("#key", server["keys"][role])
    page.click("button[type=submit]")
    page.wait_for_url(server["base"] + "/ui/")


def open_session(page, server, key):
    from urllib.parse import quote

    page.goto(server["base"] + "/ui/review?session=" + quote(key))


def _reviews(server, **where):
    from nrtd_nlp.store.models import Review

    with server["engine"].db.session() as s:
        q = select(Review)
        for k, v in where.items():
            q = q.where(getattr(Review, k) == v)
        return s.scalars(q).all()


def test_sign_in(page, server):
    sign_in(page, server)
    assert page.locator("h1").inner_text() == "Review sessions"
    assert "rita (reviewer)" in page.locator(".who").inner_text()
    cookie = [c for c in page.context.cookies() if c["name"] == "nrtd_session"][0]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.click("text=Sign out")
    page.wait_for_url("**/ui/login")
    page.goto(server["base"] + "/ui/")
    assert page.url.endswith("/ui/login")


def test_accept_with_the_keyboard_then_undo(page, server):
    sign_in(page, server)
    open_session(page, server, "UPR|3||")
    first = page.locator("tr.slot").first
    assert first.get_attribute("data-state") == "pending"
    page.keyboard.press("a")
    expect(first).to_have_attribute("data-state", "accepted")
    assert "accepted by rita" in first.locator(".decision").inner_text()
    assert len(_reviews(server, reviewer="rita", decision="accepted")) == 1
    page.keyboard.press("k")  # focus went on to the next suggestion: back to the first
    page.keyboard.press("r")
    expect(first).to_have_attribute("data-state", "rejected")
    page.keyboard.press("u")  # undo the rejection: the acceptance before it is current again
    expect(first).to_have_attribute("data-state", "accepted")
    page.keyboard.press("u")
    expect(first).to_have_attribute("data-state", "pending")
    live = [r for r in _reviews(server, reviewer="rita") if r.reverted_at is None and r.rec_id == int(
        page.locator("article.rec").first.get_attribute("data-rec"))]
    assert live == []
    second = page.locator("tr.slot").nth(1)  # the mouse does the same
    second.locator("button.reject").click()
    expect(second).to_have_attribute("data-state", "rejected")
    second.locator("button.undo").click()
    expect(second).to_have_attribute("data-state", "pending")
    assert not page.errors


def test_bulk_accept_and_undo(page, server):
    sign_in(page, server)
    open_session(page, server, "UPR|4||")
    high = sum(1 for t in page.locator("tr.slot .score").all_inner_texts() if t and float(t) >= 0.9)
    assert high > 0
    page.click("#bulk-accept")
    expect(page.locator("tr.slot[data-state=accepted]")).to_have_count(high)
    assert f"accepted {high} suggestions" in page.locator("#status").inner_text()
    bulk = [r for r in _reviews(server, reviewer="rita") if r.comment and r.comment.startswith("bulk")]
    assert len(bulk) == high
    page.keyboard.press("u")
    expect(page.locator("tr.slot[data-state=accepted]")).to_have_count(0)
    assert all(r.reverted_at is not None for r in _reviews(server, reviewer="rita") if r.comment)
    assert not page.errors


def test_script_in_a_recommendation_never_runs(page, server):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, server)
    open_session(page, server, "UPR|9|99|")
    text = page.locator("article.rec p.text").first.inner_text()
    assert text == SCRIPT_TEXT  # shown literally, as text
    assert page.evaluate("() => window.__xss") is None
    assert page.locator("article.rec p.text script").count() == 0 and page.locator("article.rec p.text b").count() == 0
    assert dialogs == []
    shots = os.environ.get("NRTD_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        open_session(page, server, "UPR|4||")
        page.keyboard.press("j")
        page.screenshot(path=str(Path(shots) / "review_page.png"), full_page=False)


def test_reader_sees_no_decision_buttons(page, server):
    sign_in(page, server, role="reader")
    open_session(page, server, "CRC|||2022")
    assert page.locator("tr.slot").count() > 0 and page.locator("button[name=act]").count() == 0
    page.keyboard.press("a")
    assert _reviews(server, reviewer="rex") == []


def test_chromium_is_debians(server):
    assert shutil.which("chromium") == CHROMIUM or Path(CHROMIUM).exists()
