"""The page in a real browser: Playwright for Python driving Debian's Chromium (/usr/bin/chromium,
never a downloaded browser). Outside CI the tests skip when Chromium or Playwright is missing; in CI
(CI=true) that is a failure. Every test saves a screenshot under runs/playground-screenshots/ (or
$NNLAB_SCREENSHOT_DIR)."""

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else shutil.which("chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(
    os.environ.get("NNLAB_SCREENSHOT_DIR") or Path(__file__).resolve().parents[2] / "runs" / "playground-screenshots"
)

pytestmark = pytest.mark.slow


def _require():
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("Playwright for Python (pip install '.[test]')")
    for mod in ("starlette", "uvicorn"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(f"{mod} (pip install '.[playground]')")
    if not CHROMIUM:
        missing.append("Chromium at /usr/bin/chromium (apt-get install chromium; .ci/run installs it)")
    if missing:
        why = "browser tests need " + "; ".join(missing)
        if IN_CI:
            pytest.fail(why + " - CI must provide them")
        pytest.skip(why)


@pytest.fixture(scope="module")
def browser():
    _require()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


class Page:
    """A page on a fresh playground server; records every request and every script error."""

    def __init__(self, browser, session, name):
        from nnlab.playground.server import serve

        self.server = serve(session, port=0, fps=20)
        self.requests, self.errors, self.name = [], [], name
        self.context = browser.new_context(viewport={"width": 1400, "height": 1100})
        self.page = self.context.new_page()
        self.context.route("**/*", self._route)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, route):
        url = route.request.url
        self.requests.append(url)
        host = urlsplit(url).hostname
        if url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost", "::1"):
            route.continue_()
        else:
            route.abort()

    def open(self):
        self.page.goto(self.server.url)
        self.page.wait_for_function("window.pg && window.pg.frames > 0 && window.pg.points", timeout=60000)
        return self.page

    def wait(self, expr, timeout=60000):  # generous: CI machines may be loaded
        self.page.wait_for_function(expr, timeout=timeout)

    def canvas_hash(self, sel="#map"):
        return hashlib.sha256(self.page.evaluate(f"document.querySelector('{sel}').toDataURL()").encode()).hexdigest()

    def close(self):
        SHOTS.mkdir(parents=True, exist_ok=True)
        try:
            self.page.screenshot(path=str(SHOTS / f"{self.name}.png"), full_page=True)
        finally:
            self.page.close()  # close the page (and its stream) before the server
            self.context.close()
            self.server.stop()


@pytest.fixture
def open_page(browser, request):
    pages = []

    def make(session=None, **kw):
        from nnlab.playground import Session

        p = Page(browser, session or Session(kw or {"data.n": 300}), request.node.name)
        pages.append(p)
        return p

    yield make
    for p in pages:
        p.close()
        assert not p.errors, p.errors
        foreign = [
            u
            for u in p.requests
            if not u.startswith(("data:", "blob:")) and urlsplit(u).hostname not in ("127.0.0.1", "localhost", "::1")
        ]
        assert not foreign, foreign


def test_page_loads_and_the_first_frame_arrives(open_page):
    p = open_page()
    page = p.open()
    assert page.title() == "nnlab playground"
    f = page.evaluate("pg.frame")
    assert f["step"] == 0 and f["map"]["grid"] == 100
    assert page.locator("canvas.unit").count() == 6  # 4 + 2 hidden units
    assert page.evaluate("pg.points.x.length") == 300 and page.inner_text("#npoints") == "300"


def test_decision_canvas_changes_after_training(open_page):
    p = open_page()
    page = p.open()
    before = p.canvas_hash()
    page.click("#play")
    p.wait("pg.frame.step > 60")
    page.click("#play")
    p.wait("!pg.frame.running")
    assert p.canvas_hash() != before
    assert page.evaluate("pg.frames") > 2


def test_click_adds_a_point_and_the_map_changes(open_page):
    p = open_page()
    page = p.open()
    n = page.evaluate("pg.points.x.length")
    over, mp = p.canvas_hash("#overlay"), p.canvas_hash()
    page.click("#swatches .swatch >> nth=1")
    page.click("#overlay", position={"x": 370, "y": 30})  # near (5.1, 5.1)
    p.wait(f"pg.points.x.length === {n + 1}")
    assert page.inner_text("#npoints") == str(n + 1)
    assert p.canvas_hash("#overlay") != over
    s = p.server.session
    assert s.X[-1].tolist() == pytest.approx([5.1, 5.1], abs=0.05) and s.y[-1] == 1
    step = page.evaluate("pg.frame.step")
    page.click("#step")
    p.wait(f"pg.frame.step === {step + 1}")
    assert p.canvas_hash() != mp
    # a malformed CSV: the page says what is wrong, the points stay
    page.set_input_files(
        "#csvfile", files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": b"x1,x2,label\n1.0,2.0,7\n"}]
    )
    err = page.locator("#error")
    err.wait_for(state="visible")
    assert "line 2: label 7 is beyond the 2 classes" in err.inner_text()
    assert len(s.X) == n + 1
    page.set_input_files(
        "#csvfile",
        files=[{"name": "ok.csv", "mimeType": "text/csv", "buffer": b"x1,x2,label,split\n1,1,0,train\n-1,-1,1,test\n"}],
    )
    p.wait("pg.points.x.length === 2")
    assert page.locator("#error").is_hidden()


def test_lr_change_applies_without_a_reset(open_page):
    p = open_page()
    page = p.open()
    page.click("#play")
    p.wait("pg.frame.step > 30")
    gen = page.evaluate("pg.frame.generation")
    page.fill("#lr", "0.1")
    page.dispatch_event("#lr", "change")
    p.wait("pg.frame.config.optim.lr === 0.1 && pg.frame.lr === 0.1")
    f = page.evaluate("pg.frame")
    assert f["generation"] == gen and f["step"] > 30 and f["running"]
    assert p.server.session.optimizer.param_groups[0]["lr"] == 0.1
    # a setting out of range: a clear message on the page, the session as it was
    page.fill("#lr", "-1")
    page.dispatch_event("#lr", "change")
    err = page.locator("#error")
    err.wait_for(state="visible")
    assert "optim.lr must be in" in err.inner_text()
    assert p.server.session.config["optim"]["lr"] == 0.1 and page.evaluate("pg.frame.generation") == gen
    page.click("#play")


def test_settings_in_the_url_hash_are_applied(open_page):
    p = open_page()
    settings = {"optim.lr": 0.05, "data.classes": 4, "model.loss": "cross_entropy"}
    p.page.goto(p.server.url + "#" + json.dumps(settings).replace(" ", ""))
    # pg.frame is set before the page has drawn it (it first fetches the new points), so wait for the drawing
    p.wait(
        "window.pg && pg.frame && pg.frame.classes === 4 && document.querySelectorAll('#swatches .swatch').length === 4"
    )
    assert p.server.session.config["optim"]["lr"] == 0.05
    assert "optim.lr" in p.page.evaluate("decodeURIComponent(location.hash)")


def test_three_classes_show_three_colours(open_page):
    p = open_page()
    page = p.open()
    page.select_option("#preset", "three-classes")
    p.wait("pg.frame.classes === 3")
    page.click("#play")
    p.wait("pg.frame.step > 100")
    page.click("#play")
    p.wait("!pg.frame.running")
    colours = page.evaluate("""() => {
        const c = document.getElementById('map'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const pal = [[245,147,34],[8,119,189],[44,160,44],[148,103,189]], seen = new Set();
        for (let i = 0; i < d.length; i += 4 * 97) {
          const r = d[i], g = d[i+1], b = d[i+2];
          if (Math.max(r, g, b) - Math.min(r, g, b) < 40) continue;   // nearly white: low confidence
          let best = 0, bd = 1e9;
          pal.forEach((p, k) => { // compare hue directions from white
            const v = [255 - r, 255 - g, 255 - b], w = [255 - p[0], 255 - p[1], 255 - p[2]];
            const n = Math.hypot(...v) * Math.hypot(...w), cos = (v[0]*w[0] + v[1]*w[1] + v[2]*w[2]) / n;
            if (1 - cos < bd) { bd = 1 - cos; best = k; } });
          seen.add(best);
        }
        return [...seen].sort();
    }""")
    assert colours == [0, 1, 2]
    assert page.locator("#swatches .swatch").count() == 3


def test_diverging_run_shows_the_guards_message(open_page):
    p = open_page()
    page = p.open()
    page.select_option("#preset", "diverge")
    p.wait("pg.frame.config.optim.lr === 50")
    page.click("#play")
    p.wait("pg.frame.halted === 'diverged'")
    msg = page.locator("#message")
    msg.wait_for(state="visible")
    text = msg.inner_text()
    assert "diverged" in text and "lower optim.lr" in text and ("lr_too_high" in text or "nan_loss" in text)
    assert page.inner_text("#play").endswith("Play")


def test_a_recorded_session_replays(open_page):
    p = open_page()
    page = p.open()
    page.click("#play")
    p.wait("pg.frame.step > 50")
    page.click("#play")
    p.wait("!pg.frame.running")
    page.click("#overlay", position={"x": 200, "y": 200})
    p.wait("pg.points.x.length === 301")
    page.click("#step")
    p.wait("pg.frame.step > 0 && pg.frame.data_version > 1")
    record = page.evaluate("fetch('/api/session').then(r => r.text())")
    rec = json.loads(record)
    res = page.evaluate("t => pg.loadSession(t)", record)
    assert res["ok"] and res["weights_sha256"] == rec["weights_sha256"]
    p.wait(f"pg.frame.weights_sha256 === '{rec['weights_sha256'][:16]}' && pg.points.x.length === 301")


def test_no_request_leaves_loopback(open_page):
    p = open_page()
    page = p.open()
    page.click("#play")
    p.wait("pg.frame.step > 20")
    page.click("#play")
    # even a page that tries is stopped at the route (and the check in the fixture would fail)
    page.evaluate("fetch('https://example.com/x').catch(() => 0)")
    time.sleep(0.3)
    outside = [u for u in p.requests if urlsplit(u).hostname not in ("127.0.0.1", "localhost", "::1")]
    assert outside == ["https://example.com/x"]
    p.requests.remove("https://example.com/x")
    assert any(u.endswith("/static/vendor/uPlot.iife.min.js") for u in p.requests)
    assert any("/api/events" in u for u in p.requests)
