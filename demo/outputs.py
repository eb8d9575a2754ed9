"""What a result becomes on the page: WAV and JSON downloads, players, stats and compare tables.

- `OutputStore`: per-request folders for downloads, the newest `keep` kept; a folder whose
  request fails while writing is removed (`request_dir`).
- `write_wavs`, `write_record`: the audio as 16-bit WAV, and a JSON with every parameter of the
  result plus the page's inputs that reproduce it (`replay_inputs`, `replay_edit_inputs`; file
  inputs by name only).
- `players`, `player_updates`: the audio players' plain values (what API callers get), then
  their labels and visibility on the page; `page_audio`: the audio at -14 LUFS (`demo.loudness`).
- `stats_rows`, `window_rows`, `adherence_rows`: the Generate and Edit tabs' table;
  `trajectory_figure`: one window's figure, or every window's for a long clip; `compare_rows`,
  `compare_warnings`, `run_traces`: the Compare tab's table, warnings and figure data.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import tempfile
import threading
import time
import typing as tp
import uuid

import gradio as gr
import numpy as np
import soundfile as sf

from jasco_core import adherence
from jasco_core.compare import Comparison
from jasco_core.guidance import Guidance
from jasco_core.pipeline import GenerationResult
from jasco_core.schedules import schedule_text
from jasco_core.solvers import BESPOKE, SolverConfig

from . import loudness, solve_plots
from .inputs import file_name

KEEP_OUTPUT_DIRS = 32       # per-request output folders kept on disk (oldest removed first)
STATS_HEADERS = ["quantity", "value"]
COMPARE_HEADERS = ["run", "NFE", "RMSE", "seconds"]   # RMSE of the final latents against the reference run
STATS_WIDTHS = ["42%", "58%"]                          # the tables' column widths: they fit a phone too
COMPARE_WIDTHS = ["34%", "18%", "28%", "20%"]


class OutputStore:
    """Per-request folders for WAV/JSON downloads under the system temp dir (which Gradio may serve).

    Only the newest `keep` folders are kept, so disk use stays bounded however long the server runs.
    """

    def __init__(self, root: tp.Optional[str] = None, keep: int = KEEP_OUTPUT_DIRS):
        self.root = root or os.path.join(tempfile.gettempdir(), "jasco-demo-outputs")
        self.keep = keep
        self._lock = threading.Lock()
        os.makedirs(self.root, exist_ok=True)

    def new_dir(self) -> str:
        with self._lock:
            path = os.path.join(self.root, f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}")
            os.makedirs(path)
            existing = sorted(d for d in os.listdir(self.root) if os.path.isdir(os.path.join(self.root, d)))
            for old in existing[:-self.keep]:
                shutil.rmtree(os.path.join(self.root, old), ignore_errors=True)
            return path

    @contextlib.contextmanager
    def request_dir(self) -> tp.Iterator[str]:
        """A new folder that is removed again if the block fails: nothing half-written is left."""
        path = self.new_dir()
        try:
            yield path
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise


# -- files ----------------------------------------------------------------------------------------------
def write_wavs(folder: str, stems: tp.Sequence[str], audio: np.ndarray, sample_rate: int) -> tp.List[str]:
    """One 16-bit WAV per row of `audio` [n_clips, n], named `stems[k].wav`; returns the paths."""
    paths = []
    for stem, clip in zip(stems, audio):
        path = os.path.join(folder, f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', stem)}.wav")
        sf.write(path, clip, sample_rate, subtype="PCM_16")
        paths.append(path)
    return paths


def _shared_inputs(request: dict, guidance: Guidance, solver: SolverConfig, result: GenerationResult,
                   model: str) -> tp.Dict[str, tp.Any]:
    """The inputs every tab's API shares, as they reproduce `result` (its seed fixed; files by name)."""
    weights = guidance.weights()
    return dict(text=request["text"], chords=request["chords"] or "", drums=file_name(request["drums"]),
                melody=file_name(request["melody"]), bpm=request["bpm"], meter=request["meter"], w_all=weights["all"],
                w_text=weights["text"], null_auto=guidance.null is None, w_null=weights["null"],
                solver="fast" if solver.method == BESPOKE else solver.method,   # the model's fitted solver, by name
                steps=solver.steps, schedule=schedule_text(solver.schedule), log10_rtol=math.log10(solver.rtol),
                log10_atol=math.log10(solver.atol), max_nfe=solver.max_nfe, seed=result.seed, random_seed=False,
                model=model)


def replay_inputs(request: dict, guidance: Guidance, solver: SolverConfig, num_samples: int,
                  result: GenerationResult, model: str, **page: tp.Any) -> tp.Dict[str, tp.Any]:
    """The `/generate` inputs that reproduce `result` (its seed fixed; files by name); `page`: the
    page's own settings of the run (e.g. `normalize`)."""
    return dict(_shared_inputs(request, guidance, solver, result, model), duration=request["duration"],
                num_samples=num_samples, **page)


def replay_edit_inputs(audio: tp.Any, region: tp.Dict[str, float], request: dict, guidance: Guidance,
                       solver: SolverConfig, result: GenerationResult, model: str) -> tp.Dict[str, tp.Any]:
    """The `/repaint` (region: start, end) or `/extend` (region: seconds) inputs that reproduce
    `result`, the audio by name."""
    return dict(audio=file_name(audio), **region, **_shared_inputs(request, guidance, solver, result, model))


def write_record(path: str, result: GenerationResult, inputs: tp.Dict[str, tp.Any], files: tp.Sequence[str]) -> str:
    """The JSON of a generation or an edit: the library's parameters (file inputs by name, never a
    server path), the page inputs that replay it, and what the run measured."""
    parameters = dict(result.parameters, **{k: inputs.get(k) for k in ("drums", "melody", "audio") if k in inputs})
    record = {"parameters": parameters, "demo_inputs": inputs,
              "result": {"nfe": result.nfe, "seconds": round(result.seconds, 4), "timings": result.timings,
                         "accepted_steps": len(result.steps["times"]), "sample_rate": result.sample_rate,
                         "warnings": result.warnings, "files": [os.path.basename(p) for p in files],
                         "windows": [dict(start=w.start, end=w.end, known_frames=w.known_frames, nfe=w.nfe)
                                     for w in result.windows]}}
    with open(path, "w") as f:
        json.dump(record, f, indent=1, default=_json_default)
    return path


def players(paths: tp.Sequence[str], slots: int) -> tp.List[tp.Optional[str]]:
    """The values of `slots` audio players: `paths`, then None (plain values, as API callers get
    them; `player_updates` shows and labels the players on the page)."""
    return [paths[k] if k < len(paths) else None for k in range(slots)]


def audio_facts(path: tp.Optional[str]) -> tp.Optional[tp.Tuple[float, int]]:
    """(seconds, sample rate) of an audio file from its header; None if there is none."""
    if not path:
        return None
    try:
        info = sf.info(path)
    except (RuntimeError, TypeError, ValueError):
        return None
    return float(info.duration), int(info.samplerate)


def player_updates(paths: tp.Sequence[tp.Optional[str]], names: tp.Sequence[str]) -> tp.List[dict]:
    """The page's players after a run: those with a file shown and labelled 'NAME · 22050 Hz',
    the others hidden (the first stays, empty)."""
    updates = []
    for k, path in enumerate(paths):
        facts = audio_facts(path)
        if facts is None:
            updates.append(gr.update(visible=k == 0))
        else:
            name = names[k] if k < len(names) else f"Sample {k + 1}"
            updates.append(gr.update(visible=True, label=f"{name} \u00b7 {facts[1]} Hz"))
    return updates


def page_audio(audio: np.ndarray, sample_rate: int, normalize: bool) -> tp.Tuple[np.ndarray, tp.List[list]]:
    """What the page plays and writes: `audio` [n_clips, n] at -14 LUFS with a true peak at most
    -1 dBFS when `normalize` (`demo.loudness`), else as the model made it; and the stats rows that
    say so."""
    if not normalize:
        return audio, [["loudness", "as generated (not normalised)"]]
    out, done = loudness.normalise_all(audio, sample_rate)
    return out, [["loudness", "; ".join(d.describe() for d in done)]]


# -- tables -------------------------------------------------------------------------------------------
def stats_rows(result: GenerationResult, model: str, solver: SolverConfig, guidance: Guidance) -> tp.List[list]:
    """What the run did: NFE, steps, settings, timings, device, seed, audio, warnings."""
    w = guidance.weights()
    return [
        ["NFE (field evaluations)", str(result.nfe)],
        ["accepted steps", str(len(result.steps["times"]))],
        ["solver", f"{solver.label}, NFE cap {solver.max_nfe}"],
        ["guidance", f"w_all {w['all']:g}, w_text {w['text']:g}, w_null {w['null']:g}"],
        ["seconds (pipeline)", f"{result.seconds:.2f}"],
        ["seconds: conditions / sampling / decoding",
         " / ".join(f"{result.timings.get(k, float('nan')):.2f}" for k in ("conditions", "sampling", "decoding"))],
        ["device", result.device],
        ["seed", str(result.seed)],
        ["model", model],
        ["audio", f"{len(result.audio)} \u00d7 {result.audio.shape[1] / result.sample_rate:.2f} s at {result.sample_rate} Hz"],
        ["warnings", "; ".join(result.warnings) if result.warnings else "none"],
    ]


def in_windows(result: GenerationResult) -> str:
    """' in 3 windows' for a clip solved in several windows, else ''."""
    return f" in {len(result.windows)} windows" if len(result.windows) > 1 else ""


def window_rows(result: GenerationResult, frame_rate: float) -> tp.List[list]:
    """The windows the clip was solved in: how many, where (seconds), NFE of each, and for an edit
    the frames each kept from the input."""
    windows = result.windows
    if not windows:
        return []
    spans = ", ".join(f"{w.start / frame_rate:.1f}\u2013{w.end / frame_rate:.1f}" for w in windows)
    rows = [["windows", f"{len(windows)} ({spans} s)"],
            ["NFE per window", ", ".join(str(w.nfe) for w in windows)]]
    if any(w.known_frames for w in windows):
        rows.append(["frames kept per window (context)", ", ".join(f"{w.known_frames} of {w.end - w.start}"
                                                                   for w in windows)])
    return rows


def trajectory_figure(result: GenerationResult, trace: tp.Sequence[tp.Sequence[float]]):
    """The trajectory figure of a generation (`trajectory=True`): every sample of its one window,
    or, for a long clip, every window's first sample, labelled 'window k (frames a\u2013b)'."""
    if len(result.windows) <= 1:
        traj = result.trajectory
        return solve_plots.generation_figure(traj.times, traj.latents.numpy(), result.steps["times"],
                                             result.steps["sizes"], trace)
    traces = [solve_plots.WindowTrace(f"window {k + 1} (frames {w.start}\u2013{w.end})", w.trajectory.times,
                                      w.trajectory.latents[:, 0].numpy(), w.step_times, w.step_sizes)
              for k, w in enumerate(result.windows)]
    return solve_plots.windows_figure(traces, trace)


def adherence_rows(result: GenerationResult, heard: tp.Optional[adherence.Detections] = None) -> tp.List[list]:
    """One row per condition given: each sample's adherence score (0-1, higher is better); `heard`:
    the first sample's detections when the caller has them already (the spectrogram draws them)."""
    per_sample = [adherence.adherence_scores(audio, result.sample_rate, result.previews, heard if k == 0 else None)
                  for k, audio in enumerate(result.audio)]
    if not per_sample or not per_sample[0]:
        return [["adherence scores", "no chords, melody or drums given"]]
    return [[name, ", ".join("n/a" if s[name] is None else f"{s[name]:.2f}" for s in per_sample)]
            for name in per_sample[0]]


def compare_rows(labels: tp.Sequence[str], comparison: Comparison) -> tp.List[list]:
    """One row per run: label, NFE, RMSE of its final latents against the reference, solve
    seconds. A run stopped by its NFE cap shows '> cap' and 'stopped at the NFE cap'."""
    rows = []
    for label, run in zip(labels, comparison.runs):
        if not run.done:
            rows.append([label, f"> {run.solver.max_nfe}", "stopped at the NFE cap", ""])
            continue
        r = run.result
        rows.append([label, str(r.nfe), "0 (reference)" if run.is_reference else f"{run.rmse:.2e}",
                     f"{r.timings['sampling']:.2f}"])
    return rows


def compare_warnings(comparison: Comparison) -> tp.List[str]:
    """The library's warnings of every finished run, each once (the runs share their conditions)."""
    seen: tp.List[str] = []
    for run in comparison.runs:
        for warning in (run.result.warnings if run.done else ()):
            if warning not in seen:
                seen.append(warning)
    return seen


def run_traces(labels: tp.Sequence[str], comparison: Comparison) -> tp.List[solve_plots.RunTrace]:
    """Every run with a trajectory as the comparison figure draws it (first sample): finished
    runs, and runs stopped at their NFE cap up to where they stopped."""
    traces = []
    for label, run in zip(labels, comparison.runs):
        if run.trajectory is None:
            continue
        latents = run.trajectory.latents[:, 0].numpy()
        if run.done:
            traces.append(solve_plots.RunTrace(label, run.solver.method, latents, run.nfe, run.rmse, run.is_reference,
                                               seconds=run.result.timings.get("sampling", float("nan"))))
        else:
            traces.append(solve_plots.RunTrace(label, run.solver.method, latents, run.solver.max_nfe, float("nan"),
                                               False, capped=True))
    return traces


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
