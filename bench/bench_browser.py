"""End-to-end time of one generation in a real browser, with the embedded model.

    python bench/bench_browser.py [--repeats 3] [--threads 2] [--screenshots docs]

Starts the demo on 127.0.0.1 with the embedded model, opens it in headless Chromium (Debian's
`/usr/bin/chromium`, or $CHROMIUM) through Playwright, types a prompt and chords, and times from
the click on Generate until the audio player, the trajectory plot and the "Done" status are on the
page, for one 10 s sample at the default settings. Prints each run, the median, and a last line
`click_to_result_s=<median>`.

With `--screenshots DIR` it then saves the page as the README and docs/demo.md show it, with the
embedded model: the Generate tab after the last run (`screenshot_embedded.png`,
`screenshot_generate.png`), the Compare tab after a comparison of a 5 s clip
(`screenshot_compare.png`), and both again at a phone's width of 390 px (`*_390.png`).
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import time


CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _compare(page) -> None:
    page.get_by_role("tab", name="Compare solvers").click()
    page.click("text=Copy prompt, conditions and seed from the Generate tab")
    page.wait_for_function("document.querySelector('#cmp-prompt textarea').value.includes('jazz')")
    page.locator("#cmp-duration input[type=range]").fill("5")
    page.click("#compare-btn")
    page.wait_for_function("document.querySelector('#cmp-status').innerText.includes('runs done')", timeout=600_000)
    page.wait_for_selector("#compare-plot img")
    page.wait_for_timeout(1000)


def _prompted_page(browser, url: str, width: int, height: int, timeout_ms: int):
    """A new page of the demo at `width` x `height`, with the benchmark's prompt and chords typed in."""
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.set_default_timeout(timeout_ms)
    page.goto(url)
    page.wait_for_selector("#prompt textarea")
    page.fill("#prompt textarea", "mellow jazz piano with brushed drums")
    page.fill("#chords textarea", "C:0 Am:2.5 F:5 G:7.5")
    return page


def screenshots(browser, page, url: str, folder: str) -> None:
    """The Generate tab of `page` (after a run) and a comparison, at 1400 and 390 px, into `folder`."""
    os.makedirs(folder, exist_ok=True)
    shot = lambda p, name: p.screenshot(path=os.path.join(folder, name), full_page=True)  # noqa: E731
    shot(page, "screenshot_embedded.png")
    shot(page, "screenshot_generate.png")
    _compare(page)
    shot(page, "screenshot_compare.png")
    phone = _prompted_page(browser, url, 390, 844, 300_000)
    phone.click("#generate-btn")
    phone.wait_for_function("document.querySelector('#status').innerText.startsWith('Done in')")
    phone.wait_for_selector("#trajectory-plot img")
    phone.wait_for_timeout(1000)
    shot(phone, "screenshot_generate_390.png")
    _compare(phone)
    shot(phone, "screenshot_compare_390.png")
    print(f"screenshots in {folder}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--screenshots", default=None, help="save the page's screenshots in this folder")
    args = parser.parse_args()

    import torch
    from playwright.sync_api import sync_playwright

    from demo.handlers import DemoHandlers
    from demo.ui import build_demo, launch_options

    torch.set_num_threads(args.threads)
    handlers = DemoHandlers("embedded")
    app = build_demo(handlers)
    _, url, _ = app.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                           **launch_options())
    times = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = _prompted_page(browser, url, 1400, 1000, 120_000)
            page.wait_for_selector("#chord-plot img")
            for i in range(args.repeats):
                previous = page.inner_text("#status")
                started = time.perf_counter()
                page.click("#generate-btn")
                page.wait_for_function(
                    "prev => { const s = document.querySelector('#status').innerText;"
                    " return s.startsWith('Done in') && s !== prev; }", arg=previous)
                page.wait_for_selector("#trajectory-plot img")
                page.wait_for_selector("#audio-1 audio", state="attached")
                seconds = time.perf_counter() - started
                times.append(seconds)
                stats = page.inner_text("#stats")
                print(f"run {i + 1}: {seconds:.2f} s from click to audio + plots", flush=True)
                page.wait_for_timeout(500)
            if args.screenshots:
                screenshots(browser, page, url, args.screenshots)
            browser.close()
    finally:
        app.close()
    print(f"# device=cpu threads={torch.get_num_threads()} model=embedded sample=10 s, default settings; "
          f"stats table of the last run:\n{stats}")
    print(f"click_to_result_s={statistics.median(times):.2f}")


if __name__ == "__main__":
    main()
