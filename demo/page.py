"""What the whole page shares: its CSS, its scripts, the "Use from Python" text, and the run flow
of a tab's button (outputs cleared when a run starts, the status line when it ends or is stopped).

- `CSS`: status lines with room for the progress text, tables that fit their column on a phone.
- `page_script()`: JavaScript run once the page has loaded. Gradio 6.31's front end titles every
  error toast "Error": its client passes a `gr.Error`'s title on as `status.title` but the toast
  reads `status._title`, so `title=` never reaches the page. The script gives the toasts of this
  page's errors their title back from the message, which always starts with the field at fault
  ('chords: ...' -> 'Check “Chord progression”'), as `inputs.field_error` titles them.
  It also fills the "Use from Python" snippet with the page's own address, and sets a number
  typed outside its box's bounds (or off a whole-number step) to the nearest allowed value, with a
  note naming the field (`#clamp-note`): Gradio's sliders clamp silently, its number boxes not at all.
- `run_flow(...)`: wires a tab's button: clear the outputs, run the work event (the API), then
  show and label the players; `stop_flow`: Stop says 'Stopping…', then 'Stopped at NFE n, t = …'.
- `document_only(demo, names)`: the API page lists the events meant for programs, nothing else.
"""
from __future__ import annotations

import json
import typing as tp

import gradio as gr

from . import runs
from .inputs import FIELD_LABELS, field_error

# the events of the API page; every other event is callable but undocumented (previews, small
# updates of the page, the model menu's page updates) or private (the run flow's own steps)
DOCUMENTED = ("generate", "repaint", "extend", "compare", "stop_generate", "stop_compare", "stop_edit")

CSS = """
#title h1 {margin-bottom: 0}
.preview-note p {font-size: 0.85em; margin: 0}
.status-line {min-height: 3.2em}
.history-table {width: 100%; table-layout: fixed; border-collapse: collapse; font-size: 0.9em}
.history-table th, .history-table td {text-align: left; padding: 4px 6px; overflow-wrap: anywhere;
  border-bottom: 1px solid var(--border-color-primary); vertical-align: top}
.example-output {min-width: 260px}
#clamp-note {display: none; position: fixed; top: 16px; left: 50%; transform: translateX(-50%); z-index: 1000;
  max-width: min(90vw, 520px); padding: 10px 14px; border-radius: 8px; font-size: 0.95em;
  background: var(--color-accent-soft); border: 1px solid var(--color-accent); color: var(--body-text-color);
  box-shadow: var(--shadow-drop-lg)}
"""

API_URL = "http://127.0.0.1:7860/"   # replaced by the page's own address in the browser
API_HELP = f"""
```python
from gradio_client import Client
client = Client("{API_URL}")
out = client.predict(text="mellow jazz piano with brushed drums", chords="C:0 Am:2.5 F:5 G:7.5",
                     api_name="/generate")
*players, trajectory, spectrogram, stats, downloads, seed, status = out
wavs, parameters_json = downloads[:-1], downloads[-1]
```
Every control of this tab is a parameter of `/generate` with the page's default (`duration` up to
120 s, `normalize=False` for the model's raw level); `/repaint` takes `audio=handle_file(path),
start=..., end=...`, `/extend` takes `audio=..., seconds=...`; `/compare` takes
`runs=["Euler 4", "dopri5 1e-5"]` and `extra_runs="rk4:8"`. See "Use via API" at the bottom of the page.
"""


def error_titles() -> tp.Dict[str, str]:
    """Start of an error message -> the toast's title ('chords:' -> 'Check “Chord progression”')."""
    titles = {f"{field}:": field_error(field, "x").title for field in FIELD_LABELS}
    titles["parameters:"] = "Check \u201cLoad parameters JSON\u201d"
    titles["The generation was stopped."] = runs.stopped_error().title
    return titles


def page_script() -> str:
    """The page's script (`Blocks.launch(js=...)`): error toasts get their titles back, and the
    "Use from Python" snippet (`#api-help`, rendered when its accordion opens) gets the page's own
    address instead of `API_URL`."""
    return """() => {
  const titles = %s;
  const apiUrl = %s;
  const here = window.location.origin + window.location.pathname.replace(/[^/]*$/, '');
  const retitle = (toast) => {
    const title = toast.querySelector('.toast-title');
    const text = toast.querySelector('[data-testid="toast-text"]');
    if (!title || !text || title.dataset.retitled) return;
    const message = text.innerText.trim();
    for (const [start, name] of Object.entries(titles)) {
      if (message.startsWith(start)) { title.textContent = name; title.dataset.retitled = '1'; return; }
    }
  };
  const readdress = (help) => {
    const walker = document.createTreeWalker(help, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      if (node.nodeValue.includes(apiUrl)) node.nodeValue = node.nodeValue.split(apiUrl).join(here);
    }
  };
  // a number box typed outside its bounds, or off its step: set it to the nearest allowed value and say so
  const notice = (text) => {
    let box = document.getElementById('clamp-note');
    if (!box) {
      box = document.createElement('div');
      box.id = 'clamp-note';
      box.setAttribute('role', 'status');
      document.body.appendChild(box);
    }
    box.textContent = text;
    box.style.display = 'block';
    clearTimeout(box.hideTimer);
    box.hideTimer = setTimeout(() => { box.style.display = 'none'; }, 8000);
  };
  const fit = (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== 'number' || input.value === '') return;
    const typed = Number(input.value);
    if (!Number.isFinite(typed)) return;
    const lo = input.min === '' ? -Infinity : Number(input.min);
    const hi = input.max === '' ? Infinity : Number(input.max);
    const step = input.step === '' || input.step === 'any' ? 0 : Number(input.step);
    let value = Math.min(Math.max(typed, lo), hi);
    // whole numbers: a slider of whole steps, or a box marked so (`WHOLE`); other boxes keep fractions
    const block = input.closest('.block');
    const slider = block && block.querySelector('input[type=range]');
    const whole = (slider && Number.isInteger(step) && step > 0 && Number.isInteger(lo === -Infinity ? 0 : lo))
      || input.closest('.%s') !== null;
    if (whole) value = Math.round(value);
    if (value === typed) return;
    const label = (block && block.querySelector('[data-testid="block-info"]')?.innerText.trim()) || 'value';
    const why = typed > hi ? `above the maximum ${hi}` : typed < lo ? `below the minimum ${lo}` : 'not a whole number';
    notice(`${label}: ${typed} is ${why}; set to ${value}.`);
    input.value = String(value);
    input.dispatchEvent(new Event('input', {bubbles: true}));
    input.dispatchEvent(new Event('change', {bubbles: true}));
  };
  document.addEventListener('change', fit, true);
  new MutationObserver(() => {
    document.querySelectorAll('[data-testid="toast-body"]').forEach(retitle);
    document.querySelectorAll('#api-help').forEach(readdress);
  }).observe(document.body, {childList: true, subtree: true});
}""" % (json.dumps(error_titles()), json.dumps(API_URL), WHOLE)


def document_only(demo: gr.Blocks, names: tp.Iterable[str] = DOCUMENTED) -> None:
    """Events named in `names` stay on the API page; every other public one becomes undocumented
    (still callable by `gradio_client`, off the page)."""
    keep = set(names)
    for fn in demo.fns.values():
        if fn.api_visibility == "public" and fn.api_name not in keep:
            fn.api_visibility = "undocumented"


PRIVATE = dict(queue=False, api_visibility="private", show_progress="hidden")
WHOLE = "whole-number"   # elem_classes of a number box that takes whole numbers (the page's script rounds it)


def run_flow(button: gr.Button, stop: tp.Optional[gr.Button], flags: runs.CancelFlags, work: tp.Callable,
             stop_work: tp.Optional[tp.Callable], *, inputs: tp.Sequence, players: tp.Sequence, others: tp.Sequence, status: gr.Markdown,
             name_players: tp.Callable, player_inputs: tp.Sequence = (), keep: tp.Sequence = (),
             hide_players: bool = True, api_name: str, stop_api_name: str = "", **event: tp.Any):
    """Wire `button` to `work` (the API event `api_name`, outputs `players + others + [status]`):

    1. clear the players (all but the first hidden when `hide_players`), `others` but those in
       `keep` (figures, tables, downloads) and the status line, so that an error (a toast, and
       Gradio's "Error" badge on the outputs) never leaves the last run's results on the page,
       nor a progress text over an old status;
    2. run `work` (its progress on the status line), with `event`'s settings;
    3. once it has succeeded, the players shown and labelled (`name_players(*player_inputs,
       *players)`). (Gradio 6 runs no `.then` step after an error.)
    `stop` (when given: `stop_flow`) cancels it. Returns the work event."""
    cleared = [c for c in others if c not in keep]

    def begin(request: gr.Request):
        runs.begin(flags, request)
        shown = [gr.update(value=None, visible=k == 0) if hide_players else None for k in range(len(players))]
        return (*shown, *(None for _ in cleared), "")

    start = button.click(begin, outputs=[*players, *cleared, status], **PRIVATE)
    run = start.then(work, inputs=list(inputs), outputs=[*players, *others, status], api_name=api_name, **event)
    run.success(name_players, inputs=[*player_inputs, *players], outputs=list(players), **PRIVATE)
    if stop is not None:
        stop_flow(stop, flags, stop_work, [run], status, stop_api_name)
    return run


def stop_flow(stop: gr.Button, flags: runs.CancelFlags, stop_work: tp.Callable, events: tp.Sequence,
              status: gr.Markdown, api_name: str) -> None:
    """`stop` cancels `events` and runs `stop_work` (the API event `api_name`: 'Stopping…', or that
    nothing runs), then the status line says where the solve stopped ('Stopped at NFE n, t = …')."""
    def stopped(request: gr.Request):
        return flags.stop_status(request)

    stopping = stop.click(stop_work, outputs=[status], cancels=list(events), api_name=api_name, queue=False)
    stopping.then(stopped, outputs=[status], **PRIVATE)
