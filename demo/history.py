"""The Generate tab's run history (per browser session) and replaying a saved parameters JSON.

- `record(history, downloads)`: after a run, its entry (prompt, seed, solver, NFE, seconds and
  the parameters JSON the run wrote) first in the session's history, the newest `KEEP` kept;
  `render(history)`: the history as an HTML table that fits a phone (the JSON linked).
- `load_parameters(file, names)`: the values of a saved `*_parameters.json` (its `demo_inputs`,
  the `/generate` inputs that replay the run) for the Generate tab's controls named `names`, and a
  note of what could not be set (a drum or melody file that is not on this server, another model).
"""
from __future__ import annotations

import html
import json
import os
import typing as tp
import urllib.parse

import gradio as gr

from jasco_core.paths import EXAMPLES_DIR
from jasco_core.solvers import ADAPTIVE_METHODS, FIXED_STEP_METHODS

KEEP = 10                      # runs kept in a session's history
EMPTY = "<p class='history-empty'>No runs yet in this browser session.</p>"


def _record_path(downloads: tp.Any) -> tp.Optional[str]:
    """The parameters JSON among a run's downloads (paths, or Gradio's file dicts)."""
    for item in downloads or []:
        path = item.get("path") if isinstance(item, dict) else item
        if isinstance(path, str) and path.endswith(".json"):
            return path
    return None


def _solver_text(inputs: tp.Mapping[str, tp.Any]) -> str:
    """'euler 4', 'midpoint 5 sway=-1', 'dopri5 1e-5', or the preset or typed spec as chosen."""
    method = inputs.get("solver") or "?"
    if inputs.get("steps") is not None and method in FIXED_STEP_METHODS:
        schedule = inputs.get("schedule")
        return f"{method} {inputs['steps']}" + (f" {schedule}" if schedule and schedule != "uniform" else "")
    rtol = inputs.get("log10_rtol")
    if method in ADAPTIVE_METHODS and isinstance(rtol, (int, float)):
        return f"{method} 1e{rtol:g}"
    return str(method)


def entry(path: str) -> tp.Optional[dict]:
    """A history entry from a run's parameters JSON (None if it cannot be read)."""
    try:
        with open(path) as f:
            record = json.load(f)
        inputs, result = record["demo_inputs"], record["result"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {"text": str(inputs.get("text") or ""), "seed": inputs.get("seed"), "solver": _solver_text(inputs),
            "nfe": result.get("nfe"), "seconds": result.get("seconds"), "duration": inputs.get("duration"),
            "json": path}


def record(history: tp.Optional[list], downloads: tp.Any) -> tp.Tuple[list, str]:
    """A finished run first in the session's `history` (at most `KEEP` entries); returns the new
    history and its HTML."""
    history = list(history or [])
    path = _record_path(downloads)
    new = entry(path) if path else None
    if new is not None:
        new["run"] = (history[0]["run"] + 1) if history else 1
        history = [new] + history[:KEEP - 1]
    return history, render(history)


def render(history: tp.Sequence[dict]) -> str:
    """The history as an HTML table: run, prompt, seed, solver, NFE, seconds, the JSON."""
    if not history:
        return EMPTY
    rows = []
    for e in history:
        seconds = f"{e['seconds']:.2f}" if isinstance(e.get("seconds"), (int, float)) else ""
        link = (f"<a href='gradio_api/file={urllib.parse.quote(e['json'])}' download="
                f"'{html.escape(os.path.basename(e['json']))}'>open</a>")
        prompt = html.escape(e["text"]) or "<i>(no prompt)</i>"
        rows.append(f"<tr><td>{e['run']}</td><td>{prompt}</td><td>{html.escape(str(e['seed']))}</td>"
                    f"<td>{html.escape(e['solver'])}</td><td>{html.escape(str(e['nfe']))}</td><td>{seconds}</td>"
                    f"<td>{link}</td></tr>")
    head = "".join(f"<th>{h}</th>" for h in ("#", "prompt", "seed", "solver", "NFE", "s", "JSON"))
    return (f"<table class='history-table'><colgroup><col style='width:7%'><col style='width:33%'>"
            f"<col style='width:16%'><col style='width:14%'><col style='width:9%'><col style='width:9%'>"
            f"<col style='width:12%'></colgroup><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _example_file(name: tp.Any) -> tp.Optional[str]:
    """A file recorded by name that is one of the bundled examples: its path here."""
    if not isinstance(name, str) or not name:
        return None
    path = os.path.join(EXAMPLES_DIR, os.path.basename(name))
    return path if os.path.isfile(path) else None


def load_parameters(file: tp.Any, names: tp.Sequence[str], models: tp.Sequence[str] = ()) -> tuple:
    """The values of a saved parameters JSON for the controls `names` (`gr.skip()` where it has
    none), then a note. Drum and melody files are recorded by name: a bundled example's is set,
    another's is named in the note to upload again. `models`: the values the model menu offers."""
    path = file.get("path") if isinstance(file, dict) else file
    if not path:
        return (*(gr.skip() for _ in names), "")
    try:
        with open(path) as f:
            inputs = json.load(f)["demo_inputs"]
        if not isinstance(inputs, dict):
            raise TypeError
    except (OSError, ValueError, KeyError, TypeError):
        raise gr.Error(f"parameters: expected a *_parameters.json written by this page (with 'demo_inputs'), "
                       f"got {html.escape(os.path.basename(str(path)))}", title="Check \u201cLoad parameters JSON\u201d",
                       print_exception=False) from None
    values, notes = {}, []
    for name in names:
        if name not in inputs:
            continue
        value = inputs[name]
        if name in ("drums", "melody"):
            found = _example_file(value)
            if value and found is None:
                notes.append(f"{name} file {os.path.basename(str(value))!r} is not on this server: upload it again")
            values[name] = found
        elif name == "model":
            if value in models:
                values[name] = value
            elif value:
                notes.append(f"recorded with the model {value!r}, which this page does not offer")
        else:
            values[name] = value
    if "random_seed" in names:
        values["random_seed"] = False  # replay the recorded seed
    set_names = [n for n in names if n in values]
    note = f"Loaded {len(set_names)} settings from {os.path.basename(str(path))}" + (
        "; " + "; ".join(notes) if notes else "") + "."
    return (*(values[n] if n in values else gr.skip() for n in names), note)
