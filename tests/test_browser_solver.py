"""The solver settings, their cost before the click, and the figures of a result, in a real browser
at desktop (1400 px) and phone (390 px) widths: the Method menu offers "fast" and "reference" by
name, the time grid shows for fixed-step methods, the cost estimate follows every setting and
warns on tight tolerances, the Compare tab totals its runs, and after a generation the
spectrogram (with the conditions drawn on it) and the drum preview use the column's width.
"""
from __future__ import annotations

import pytest
import soundfile as sf

from tests.conftest import drum_track
from tests.test_browser import TIMEOUT_MS, _image_loaded, browser  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDTHS = [1400, 390]


@pytest.fixture(params=WIDTHS, ids=lambda w: f"{w}px")
def page(request, browser, tiny_app_url):  # noqa: F811
    context = browser.new_context(viewport={"width": request.param, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(tiny_app_url)
    page.wait_for_selector("#prompt textarea")
    yield page
    context.close()


def _choose(page, selector: str, value: str) -> None:
    """Pick the option labelled `value` in a Gradio dropdown (or type it, when no option is)."""
    box = page.locator(f"{selector} input").first
    box.click()
    box.fill(value)
    option = page.locator(f'[role="option"][aria-label="{value}"], [role="option"][aria-label^="{value} \u00b7 "]')
    if option.count():
        option.first.click()
    else:
        box.press("Enter")
    page.wait_for_function(f"document.querySelector('{selector} input').value.startsWith({value!r})")


def _text(page, selector: str) -> str:
    return page.inner_text(selector)


def test_solver_presets_time_grid_and_cost(page):
    page.get_by_role("button", name="Solver").first.click()
    cost = page.locator("#solver_cost")
    cost.wait_for()
    page.wait_for_function("document.querySelector('#solver_cost').innerText.includes('NFE')")
    assert "4 NFE" in cost.inner_text() and "here" in cost.inner_text()      # the tiny model's default: Euler 4
    assert page.locator("#schedule").is_visible() and page.locator("#steps").is_visible()

    _choose(page, "#solver", "fast")
    page.wait_for_function("document.querySelector('#solver_cost').innerText.includes('10 NFE')")
    assert page.locator("#steps").is_hidden() and page.locator("#schedule").is_hidden()

    _choose(page, "#solver", "dopri5")
    page.locator("#log10_rtol").wait_for()
    rtol = page.locator("#log10_rtol input[type='number']")
    rtol.fill("-8")
    rtol.press("Enter")
    page.wait_for_function("document.querySelector('#solver_cost').innerText.includes('very tight')")

    _choose(page, "#solver", "midpoint")
    page.locator("#schedule").wait_for()
    _choose(page, "#schedule", "sway=-1")
    steps = page.locator("#steps input[type='number']")
    steps.fill("5")
    steps.press("Enter")
    page.wait_for_function("document.querySelector('#solver_cost').innerText.includes('10 NFE')")
    box = page.locator("#solver_cost").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"] + 1, "the estimate fits the page"


def test_compare_totals_its_runs_before_the_click(page):
    page.get_by_role("tab", name="Compare solvers").click()
    page.wait_for_function("document.querySelector('#cmp-cost') && "
                           "document.querySelector('#cmp-cost').innerText.includes('NFE in all')")
    before = _text(page, "#cmp-cost")
    assert "fast: 10 NFE" in before and "reference:" in before
    page.fill("#cmp-extra-runs textarea, #cmp-extra-runs input", "rk4:8/sway=-1")
    page.locator("#cmp-extra-runs textarea, #cmp-extra-runs input").first.press("Tab")
    page.wait_for_function("document.querySelector('#cmp-cost').innerText.includes('rk4 8 sway=-1: 32 NFE')")


def test_result_figures_use_the_width_and_show_the_conditions(page, tmp_path):
    drums = tmp_path / "drums.wav"
    sf.write(drums, drum_track(22050)[: 2 * 22050], 22050)
    page.fill("#prompt textarea", "funk with drums")
    page.fill("#chords textarea", "C:0 F:1")
    page.get_by_role("button", name="Drums and melody").first.click()
    page.locator("#drums input[type='file']").set_input_files(str(drums))
    page.wait_for_selector("#drums-plot img")
    column = page.locator("#prompt").bounding_box()["width"]
    assert page.locator("#drums-plot img").bounding_box()["width"] >= 0.85 * column, "the preview spans the column"
    page.click("#generate-btn")
    page.wait_for_selector("#spectrogram-plot img")
    page.wait_for_function("document.querySelector('#status').innerText.startsWith('Done in')")
    assert _image_loaded(page, "#spectrogram-plot img") and _image_loaded(page, "#trajectory-plot img")
    for plot in ("#spectrogram-plot", "#trajectory-plot"):
        image, holder = page.locator(f"{plot} img").bounding_box(), page.locator(plot).bounding_box()
        assert image["width"] >= 0.8 * holder["width"] and image["x"] + image["width"] <= page.viewport_size["width"] + 1
