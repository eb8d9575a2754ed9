"""The demo in a real browser (headless Chromium through Playwright), against a tiny model.

Loads the page, fills the prompt and chords, presses Generate and waits for the audio player and
the trajectory plot; then the Edit tab (the last output repainted in a region typed in, an error
for a region past the clip, the Extend mode); then the Compare tab; then a released model chosen
from the model menu, downloaded from a Hub on 127.0.0.1 with its progress on the page, and used
to generate. Screenshots go to pytest's tmp dir; with
UPDATE_SCREENSHOTS=1 they also refresh `docs/screenshot_*.png` (the README shows
`docs/screenshot_embedded.png`).

Chromium comes from the system (Debian's `chromium` package at /usr/bin/chromium, or $CHROMIUM).
Without it the tests are skipped locally and fail in CI (CI=true), where it must be installed.
"""
from __future__ import annotations

import os
import re
import shutil
import time

import pytest

from demo_fixtures import serve_released, slow_downloads

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")
TIMEOUT_MS = 120_000


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set $CHROMIUM)"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def _open(browser, url: str, width: int = 1400):
    context = browser.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.wait_for_selector("#prompt textarea")
    return context, page


@pytest.fixture
def page(browser, tiny_app_url):
    context, page = _open(browser, tiny_app_url)
    yield page
    context.close()


@pytest.fixture(params=[1400, 390], ids=["desktop", "phone"])
def sized_page(browser, tiny_app_url, request):
    """The page at a desktop (1400 px) and a phone (390 px) width."""
    context, page = _open(browser, tiny_app_url, request.param)
    yield page
    context.close()


def _screenshot(page, name: str, tmp_path) -> None:
    """Save a full-page screenshot in the test's tmp dir; with UPDATE_SCREENSHOTS=1 also refresh
    the copy in docs/ that the README shows (tests never modify tracked files otherwise)."""
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    print(f"screenshot: {path}")
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        os.makedirs(DOCS, exist_ok=True)
        shutil.copyfile(path, os.path.join(DOCS, name))


def _label(page, selector: str, text: str) -> None:
    """Wait until the element's text (a player's label) includes `text`."""
    page.wait_for_function("([sel, text]) => document.querySelector(sel).innerText.includes(text)",
                           arg=[selector, text])


def _image_loaded(page, selector: str) -> bool:
    return page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 100")


def test_generate_in_the_browser(page, tmp_path):
    page.fill("#prompt textarea", "mellow jazz piano with brushed drums")
    page.fill("#chords textarea", "C:0 Am:0.5 F:1 G:1.5")
    page.wait_for_selector("#chord-plot img")  # the live chord timeline
    assert "4 chord(s) over 2 s" in page.inner_text("body")

    started = time.perf_counter()
    page.click("#generate-btn")
    page.wait_for_selector("#trajectory-plot img")
    page.wait_for_selector("#audio-1 audio", state="attached")
    seconds = time.perf_counter() - started
    page.wait_for_selector("#spectrogram-plot img")
    page.wait_for_function("document.querySelector('#status').innerText.startsWith('Done in')")
    assert _image_loaded(page, "#trajectory-plot img")
    assert page.get_attribute("#audio-1 a[download]", "download").endswith(".wav")
    _label(page, "#audio-1", "Sample 1 \u00b7 22050 Hz")
    assert "chord accuracy" in page.inner_text("#stats")
    assert "_parameters\n.json" in page.inner_text("#downloads")
    assert "LUFS" in page.inner_text("#stats")                    # the loudness row (normalised by default)
    print(f"browser round trip, click to trajectory plot: {seconds:.2f} s")
    _screenshot(page, "screenshot_generate.png", tmp_path)


def test_bad_input_shows_an_error_naming_the_field(page):
    page.fill("#prompt textarea", "piano")
    page.fill("#chords textarea", "C:0 H:1")
    page.get_by_text("cannot read chord 'H'").first.wait_for()  # the preview explains instead of drawing
    assert page.locator("#chord-plot").is_hidden()
    page.click("#generate-btn")
    toast = page.locator("[data-testid='toast-body']").first
    toast.wait_for()
    assert "chords:" in toast.inner_text() and "cannot read chord 'H'" in toast.inner_text()
    # the toast is titled with the control at fault, not Gradio's plain "Error"
    page.wait_for_function("document.querySelector('[data-testid=\"toast-body\"] .toast-title')"
                           ".innerText.includes('Check \u201cChord progression\u201d')")
    # the page keeps working
    page.fill("#chords textarea", "C:0 F:1")
    page.wait_for_selector("#chord-plot img")
    page.click("#generate-btn")
    page.wait_for_function("document.querySelector('#status').innerText.startsWith('Done in')")


def test_edit_the_last_output_in_the_browser(page, tmp_path):
    page.fill("#prompt textarea", "mellow jazz piano")
    page.click("#generate-btn")
    page.wait_for_function("document.querySelector('#status').innerText.startsWith('Done in')")

    page.get_by_role("tab", name="Edit").click()
    page.click("#edit-use-last")
    page.wait_for_selector("#edit-audio audio", state="attached")
    page.wait_for_function("document.querySelector('#edit-length').innerText.includes('The clip is 2.00 s long')")
    assert page.input_value("#edit-start input") == "0.7" and page.input_value("#edit-end input") == "1.3"  # suggested
    page.fill("#edit-start input", "0.5")
    page.fill("#edit-end input", "1.5")
    page.fill("#edit-prompt textarea", "brushed drums")
    page.click("#edit-repaint-btn")
    page.wait_for_function("document.querySelector('#edit-status').innerText.startsWith('Done in')")
    assert "repainted 0.5\u20131.5 s of a 2.00 s clip" in page.inner_text("#edit-status")
    page.wait_for_selector("#edit-after audio", state="attached")
    page.wait_for_selector("#edit-plot img")
    _label(page, "#edit-after", "After \u00b7 2.00 s")                # the players labelled once it is done
    _label(page, "#edit-before", "Before \u00b7 2.00 s")
    assert "frames kept per window" in page.inner_text("#edit-stats")
    assert "_parameters\n.json" in page.inner_text("#edit-downloads")
    _screenshot(page, "screenshot_edit.png", tmp_path)

    page.fill("#edit-end input", "5")                      # past the end of the clip
    page.click("#edit-repaint-btn")
    toast = page.locator("[data-testid='toast-body']").first
    toast.wait_for()
    assert "end:" in toast.inner_text() and "the clip's length" in toast.inner_text()

    page.get_by_label("Extend").check()                    # the Extend mode: its seconds and its button
    page.wait_for_selector("#edit-extend-btn", state="visible")
    assert page.locator("#edit-start").is_hidden() and page.locator("#edit-repaint-btn").is_hidden()
    page.wait_for_function("document.querySelector('#edit-length').innerText.includes('the result will be 4.00 s')")


def test_compare_in_the_browser(page, tmp_path):
    page.get_by_role("tab", name="Compare solvers").click()
    page.fill("#cmp-prompt textarea", "lofi hip hop with a warm bass")
    page.fill("#cmp-chords textarea", "Am:0 F:1")
    page.wait_for_selector("#cmp-chord-plot img")
    page.click("#compare-btn")
    page.wait_for_selector("#compare-plot img")
    page.wait_for_selector("#cmp-audio-1 audio", state="attached")
    page.wait_for_function("document.querySelector('#cmp-status').innerText.includes('runs done')")
    assert _image_loaded(page, "#compare-plot img")
    table = page.inner_text("#compare-table")
    from demo.inputs import DEFAULT_COMPARE_RUNS

    for run in DEFAULT_COMPARE_RUNS:
        assert run in table
    assert "0 (reference)" in table
    _label(page, "#cmp-audio-1", "Euler 4 \u00b7 4 NFE \u00b7 22050 Hz")
    n = len(DEFAULT_COMPARE_RUNS)
    assert page.locator(f"#cmp-audio-{n} audio").count() >= 1 and page.locator(f"#cmp-audio-{n + 1}").is_hidden()
    _screenshot(page, "screenshot_compare.png", tmp_path)


def test_embedded_model_generates_ten_seconds_in_the_browser(browser, tmp_path):
    """The shipped model through the page: one 10 s sample at default settings, audio and plots
    shown (its speed is measured by bench/bench_browser.py, not here)."""
    from jasco_core.checkpoints import EMBEDDED_DIR

    if not os.path.exists(os.path.join(EMBEDDED_DIR, "bundle.json")):
        pytest.skip("the embedded bundle (assets/embedded) has not been built")
    from demo.handlers import DemoHandlers
    from demo.ui import build_demo, launch_options
    from demo_fixtures import free_port

    handlers = DemoHandlers("embedded")
    app = build_demo(handlers)
    _, url, _ = app.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                           **launch_options())
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        page.wait_for_selector("#prompt textarea")
        page.fill("#prompt textarea", "mellow jazz piano with brushed drums")
        page.fill("#chords textarea", "C:0 Am:2.5 F:5 G:7.5")
        if handlers.defaults.duration != 10.0 and handlers.defaults.max_duration >= 10.0:
            page.locator("#duration input[type=range]").fill("10")
        page.wait_for_selector("#chord-plot img")
        page.click("#generate-btn")
        page.wait_for_selector("#trajectory-plot img")
        page.wait_for_selector("#audio-1 audio", state="attached")
        page.wait_for_function("document.querySelector('#status').innerText.startsWith('Done in')")
        assert "1 \u00d7 10.00 s" in page.inner_text("#stats")
        _screenshot(page, "screenshot_embedded.png", tmp_path)
        context.close()
    finally:
        app.close()


@pytest.fixture(scope="module")
def released_app(released_repos, tiny_bundle_dir, tmp_path_factory):
    """The demo around the tiny bundle, in this process, with a Hub on 127.0.0.1 serving the
    released model (gated; HF_TOKEN set), its T5 and EnCodec, downloads slowed to ~2 MB/s so that
    their progress can be watched. Yields (url, handlers); the released model is freed at the end."""
    from demo.handlers import DemoHandlers
    from demo.ui import build_demo, launch_options
    from demo_fixtures import free_port
    from tests.hub_server import FakeHub

    with pytest.MonkeyPatch.context() as mp, FakeHub() as hub:
        serve_released(hub, released_repos, mp, tmp_path_factory.mktemp("hf_home"))
        slow_downloads(mp, pause=0.03)
        handlers = DemoHandlers(tiny_bundle_dir, warm_up=False, output_dir=str(tmp_path_factory.mktemp("outputs")))
        app = build_demo(handlers)
        _, url, _ = app.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True,
                               quiet=True, **launch_options())
        try:
            yield url, handlers
        finally:
            app.close()
            handlers.models.use(tiny_bundle_dir)   # frees the released model


def test_a_released_model_from_the_menu_downloads_with_progress_and_generates(browser, released_app, tmp_path):
    from tests.released_fixtures import RELEASED_REPO

    url, handlers = released_app
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.wait_for_selector("#prompt textarea")
    assert "Loaded: embedded (local bundle)" in page.inner_text("#model-info")

    assert "unavailable model" in page.inner_text("#model")   # the unavailable ones are listed apart, with why
    page.get_by_text("Unavailable models (").first.click()
    page.wait_for_function("document.querySelector('#unavailable-models').innerText.includes('jasco-chords-drums-1B')")
    page.click("#model input")                                 # the menu: the models that can be chosen
    options = page.get_by_role("option").all_inner_texts()
    assert f"{RELEASED_REPO} \u00b7 downloads 2.6 MB on first use" in options, options
    assert not any("unavailable" in o for o in options), options
    assert "embedded \u00b7 ready" in options

    page.get_by_role("option", name=f"{RELEASED_REPO} \u00b7 downloads 2.6 MB on first use").click()
    # the download on the page: bytes, rate and time left, then the model info says it is loaded
    page.wait_for_function(f"document.body.innerText.includes('downloading {RELEASED_REPO}: ') && "
                           "document.body.innerText.includes('MB/s') && document.body.innerText.includes(' left')")
    page.wait_for_function(f"document.querySelector('#model-info').innerText.includes('Loaded: {RELEASED_REPO}')")
    info = page.inner_text("#model-info")
    assert "32000 Hz" in info and "conditions: text, chords, drums" in info
    assert handlers.models.current.name == RELEASED_REPO
    assert f"{RELEASED_REPO} \u00b7 loaded" in page.input_value("#model input")
    page.get_by_text("Drums and melody (optional)").first.click()
    page.wait_for_function("document.querySelector('#conditions-note') && "
                           "document.querySelector('#conditions-note').innerText.includes('The loaded model ignores: melody.')")

    page.fill("#prompt textarea", "upbeat jazz piano")
    page.fill("#chords textarea", "C:0 F:0.5")
    page.locator("#duration input[type=range]").fill("1")
    page.click("#generate-btn")
    page.wait_for_function("document.querySelector('#status').innerText.startsWith('Done in')")
    page.wait_for_selector("#audio-1 audio", state="attached")
    _label(page, "#audio-1", "32000 Hz")
    stats = page.inner_text("#stats")
    assert RELEASED_REPO in stats and "1 \u00d7 1.00 s at 32000 Hz" in stats
    _screenshot(page, "screenshot_released.png", tmp_path)
    context.close()


# -- results that fit, the status line, bounded inputs, examples, history -------------------------
WIDER_THAN_ITS_BOX = """sel => [...document.querySelectorAll(sel + ' table')].map(t => {
    const box = t.closest('.block') || t.parentElement;
    const wrap = t.parentElement;
    return [t.getBoundingClientRect().width, wrap.scrollWidth, wrap.clientWidth, box.clientWidth];
  }).filter(([table, scroll, client, box]) => table > box + 1 || scroll > client + 1)"""


def _done(page, status: str = "#status", text: str = "Done in") -> None:
    page.wait_for_function(f"document.querySelector('{status}').innerText.startsWith('{text}')")


def test_result_tables_fit_their_box_on_desktop_and_phone(sized_page, tmp_path):
    page = sized_page
    width = page.viewport_size["width"]
    page.fill("#prompt textarea", "mellow jazz piano")
    page.fill("#chords textarea", "C:0 Am:0.5 F:1 G:1.5")
    page.click("#generate-btn")
    _done(page)
    page.wait_for_selector("#history table")
    for table in ("#stats", "#history"):
        assert page.eval_on_selector(table, "e => e.querySelectorAll('table').length") >= 1
        assert page.evaluate(WIDER_THAN_ITS_BOX, table) == [], table
    assert page.eval_on_selector("#stats", "e => e.getBoundingClientRect().right") <= width
    if width < 600:
        _screenshot(page, "screenshot_generate_390.png", tmp_path)
    page.get_by_role("tab", name="Compare solvers").click()
    page.fill("#cmp-prompt textarea", "lofi hip hop")
    page.click("#compare-btn")
    page.wait_for_function("document.querySelector('#cmp-status').innerText.includes('runs done')")
    assert "0 (reference)" in page.inner_text("#compare-table")
    assert page.evaluate(WIDER_THAN_ITS_BOX, "#compare-table") == []
    header = page.eval_on_selector("#compare-table thead", "e => e.getBoundingClientRect().height")
    assert header < 90, header                                  # one or two lines, not a column of letters
    if width < 600:
        _screenshot(page, "screenshot_compare_390.png", tmp_path)


def test_stop_says_where_the_solve_stopped_and_an_idle_stop_says_so(sized_page):
    page = sized_page
    page.click("#stop-btn")                                      # nothing runs
    page.wait_for_function("document.querySelector('#status').innerText.startsWith('Nothing to stop')")
    page.fill("#prompt textarea", "long drone")
    page.locator("#duration input[type=range]").fill("10")
    page.locator("#num_samples input[type=range]").fill("4")
    page.get_by_text("Solver", exact=True).first.click()
    page.fill("#steps input[type=number]", "200")
    page.keyboard.press("Tab")
    page.click("#generate-btn")
    page.wait_for_function("document.querySelector('#status').innerText.includes('NFE')")   # the solve runs
    page.click("#stop-btn")
    page.wait_for_function("document.querySelector('#status').innerText.startsWith('Stopped')")
    status = page.inner_text("#status")
    assert re.match(r"Stopped at NFE \d+, t = 0\.\d{3}\.", status), status
    # the next run starts from a clean status line and finishes normally
    page.fill("#steps input[type=number]", "4")
    page.keyboard.press("Tab")
    page.locator("#duration input[type=range]").fill("2")
    page.click("#generate-btn")
    page.wait_for_function("!document.querySelector('#status').innerText.includes('Stopped')")
    _done(page)


def test_an_error_clears_the_last_results(sized_page):
    page = sized_page
    page.fill("#prompt textarea", "piano")
    page.click("#generate-btn")
    _done(page)
    page.wait_for_selector("#audio-1 audio", state="attached")
    assert "end-to-end" in page.inner_text("#stats") and ".wav" in page.inner_text("#downloads")
    page.fill("#chords textarea", "C:0 H:1")
    page.click("#generate-btn")
    page.locator("[data-testid='toast-body']").first.wait_for()
    page.wait_for_function("!document.querySelector('#status').innerText.includes('Done in')")
    assert page.locator("#audio-1 audio").count() == 0               # no player of the last run
    assert page.locator("#trajectory-plot img").count() == 0 and page.locator("#spectrogram-plot img").count() == 0
    assert "end-to-end" not in page.inner_text("#stats") and ".wav" not in page.inner_text("#downloads")


def test_number_boxes_carry_their_bounds_and_report_a_clamped_value(sized_page):
    page = sized_page
    page.get_by_text("Solver", exact=True).first.click()
    page.wait_for_selector("#steps input[type=number]")
    bounds = lambda sel: page.eval_on_selector(sel, "i => [i.min, i.max, i.step]")  # noqa: E731
    assert bounds("#seed input") == ["0", str(2**31 - 1), "1"]
    assert bounds("#max_nfe input") == ["1", "5000", "1"]
    assert bounds("#steps input[type=number]") == ["1", "200", "1"]
    assert bounds("#num_samples input[type=number]") == ["1", "4", "1"]
    page.fill("#steps input[type=number]", "100000")
    page.keyboard.press("Tab")
    page.wait_for_function("document.querySelector('#clamp-note') && "
                           "document.querySelector('#clamp-note').innerText.includes('Steps: 100000')")
    assert "set to 200" in page.inner_text("#clamp-note") and page.input_value("#steps input[type=number]") == "200"
    page.fill("#max_nfe input", "99999")
    page.keyboard.press("Tab")
    page.wait_for_function("document.querySelector('#clamp-note').innerText.includes('NFE cap: 99999')")
    assert page.input_value("#max_nfe input") == "5000"
    page.fill("#seed input", "2.5")
    page.keyboard.press("Tab")
    page.wait_for_function("document.querySelector('#clamp-note').innerText.includes('not a whole number')")
    # the Compare tab's typed runs are checked as they are typed
    page.get_by_role("tab", name="Compare solvers").click()
    page.fill("#cmp-extra-runs textarea", "euler:0")
    page.wait_for_function("document.querySelector('#cmp-runs-note').innerText.includes('extra_runs')")
    page.fill("#cmp-extra-runs textarea", "rk4:8")
    page.wait_for_function("document.querySelector('#cmp-runs-note').innerText.includes('rk4 8')")


def test_examples_open_their_files_and_the_bundled_outputs_play(sized_page):
    page = sized_page
    page.locator("button:has-text('jazz, 115 BPM')").first.click()   # an example with drums and a melody
    page.wait_for_function("document.querySelector('#prompt textarea').value.includes('clarinet')")
    page.wait_for_selector("#drums audio", state="attached")       # the section opened, the files loaded
    assert page.locator("#drums").is_visible() and page.locator("#melody").is_visible()
    assert "jazz_1000201_melody" in page.inner_text("#melody")
    page.wait_for_selector("#example-output-1 audio", state="attached")   # the bundled outputs: playable now
    assert "jazz, 115 BPM" in page.inner_text("#example-output-1")
    link = page.eval_on_selector("#example-output-1 a[download]", "a => a.href")
    clip = page.request.get(link)
    assert clip.ok and clip.body()[:4] == b"fLaC" and len(clip.body()) > 50_000  # the bundled FLAC, served
    page.get_by_role("tab", name="Compare solvers").click()
    page.locator("button:has-text('blues, 102 BPM')").locator("visible=true").first.click()
    page.wait_for_selector("#cmp-drums audio", state="attached")   # Compare examples load the files too
    assert page.locator("#cmp-drums").is_visible()
    assert "tenor saxophone" in page.input_value("#cmp-prompt textarea")


def test_history_of_two_runs_and_a_parameters_json_that_sets_the_controls(sized_page, tmp_path):
    page = sized_page
    for prompt, seed in (("first take, bossa nova", "17"), ("second take, swing", "23")):
        page.fill("#prompt textarea", prompt)
        page.uncheck("#random_seed input")
        page.fill("#seed input", seed)
        page.click("#generate-btn")
        page.wait_for_function(f"document.querySelector('#status').innerText.includes('seed {seed}')")
    page.wait_for_function("document.querySelectorAll('#history tbody tr').length === 2")
    rows = page.locator("#history tbody tr").all_inner_texts()
    assert "second take" in rows[0] and "23" in rows[0] and "first take" in rows[1] and "17" in rows[1]
    href = page.get_attribute("#history tbody tr:nth-child(2) a", "href")
    response = page.request.get(page.url.rstrip("/") + "/" + href)
    assert response.ok and response.json()["demo_inputs"]["seed"] == 17
    saved = tmp_path / "jasco_seed17_parameters.json"
    saved.write_bytes(response.body())
    # change the controls, then load the saved run back into them
    page.fill("#prompt textarea", "something else")
    page.check("#random_seed input")
    page.set_input_files("#load-params input[type=file]", str(saved))
    page.wait_for_function("document.querySelector('#load-note').innerText.startsWith('Loaded')")
    page.wait_for_function("document.querySelector('#prompt textarea').value === 'first take, bossa nova'")
    assert page.input_value("#seed input") == "17" and not page.is_checked("#random_seed input")
    page.click("#generate-btn")                                  # the replay gives the same seed
    page.wait_for_function("document.querySelectorAll('#history tbody tr').length === 3")
    assert "seed 17" in page.inner_text("#status")


def test_the_python_snippet_names_this_page(page, tiny_app_url):
    page.get_by_text("Use from Python").first.click()
    page.wait_for_selector("#api-help code")
    page.wait_for_function(f"document.querySelector('#api-help').innerText.includes('{tiny_app_url}')")
    assert "7860" not in page.inner_text("#api-help") or ":7860/" in tiny_app_url


def test_a_bar_chart_shorter_than_the_clip_loops_in_the_preview(sized_page):
    page = sized_page
    page.locator("#duration input[type=range]").fill("10")
    page.fill("#chords textarea", "| C G | Am F |")
    page.wait_for_selector("#chord-plot img")
    page.wait_for_function("document.body.innerText.includes('repeat')")
    note = page.locator(".preview-note").filter(has_text="repeat").first.inner_text()
    assert "bar" in note, note
    box, width = page.locator("#chord-plot img").bounding_box(), page.viewport_size["width"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, "the chord timeline fits the page"


def test_the_api_page_lists_the_endpoints_for_programs_with_named_outputs(sized_page):
    page = sized_page
    page.locator("button.show-api").first.evaluate("b => b.click()")   # the footer link (scrolled off on a phone)
    page.wait_for_function("document.body.innerText.includes('api_name=\"/generate\"')")
    text = page.inner_text("body")
    listed = re.findall(r'api_name="(/[a-z_]+)"', text)
    assert listed and listed[0] == "/generate", listed
    assert set(listed) <= {"/generate", "/stop_generate", "/repaint", "/extend", "/stop_edit", "/compare",
                           "/stop_compare"}, listed
    assert "preview" not in " ".join(listed) and not re.search(r"\bvalue_\d+\b", text)
