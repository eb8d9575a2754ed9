"""What a result becomes on the page: WAV and JSON downloads, players, stats and compare tables.

- `OutputStore`: per-request folders for downloads, the newest `keep` kept; a folder whose
  request fails while writing is removed (`request_dir`).
- `write_wavs`, `write_record`: the audio as 16-bit WAV, and a JSON with every parameter of the
  result plus the page's inputs that reproduce it (`replay_inputs`, `replay_edit_inputs`; file
  inputs by name only).
- `stats_rows`, `window_rows`, `adherence_rows`: the Generate and Edit tabs' table;
  `trajectory_figure`: one window's figure, or every window's for a long clip; `compare_rows`,
  `run_traces`: the Compare tab's table and figure data.
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

from jasco_core import metrics
from jasco_core.compare import Comparison
from jasco_core.guidance import Guidance
from jasco_core.pipeline import GenerationResult
from jasco_core.solvers import SolverConfig

from . import solve_plots
from .inputs import file_name

KEEP_OUTPUT_DIRS = 32       # per-request output folders kept on disk (oldest removed first)
STATS_HEADERS = ["quantity", "value"]
COMPARE_HEADERS = ["run", "settings", "NFE", "solve s", "RMSE vs. reference", "warnings"]


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
                w_text=weights["text"], null_auto=guidance.null is None, w_null=weights["null"], solver=solver.method,
                steps=solver.steps, log10_rtol=math.log10(solver.rtol), log10_atol=math.log10(solver.atol),
                max_nfe=solver.max_nfe, seed=result.seed, random_seed=False, model=model)


def replay_inputs(request: dict, guidance: Guidance, solver: SolverConfig, num_samples: int,
                  result: GenerationResult, model: str) -> tp.Dict[str, tp.Any]:
    """The `/generate` inputs that reproduce `result` (its seed fixed; files by name)."""
    return dict(_shared_inputs(request, guidance, solver, result, model), duration=request["duration"],
                num_samples=num_samples)


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


def players(paths: tp.Sequence[str], labels: tp.Sequence[str], slots: int) -> tp.List[dict]:
    """Updates of `slots` audio players: the first ones play `paths`, the rest are hidden."""
    return [gr.update(value=paths[k], visible=True, label=labels[k]) if k < len(paths)
            else gr.update(value=None, visible=False) for k in range(slots)]


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


def adherence_rows(result: GenerationResult) -> tp.List[list]:
    """One row per condition given: each sample's adherence score (0-1, higher is better)."""
    per_sample = [metrics.adherence_scores(audio, result.sample_rate, result.previews) for audio in result.audio]
    if not per_sample or not per_sample[0]:
        return [["adherence scores", "no chords, melody or drums given"]]
    return [[name, ", ".join("n/a" if s[name] is None else f"{s[name]:.2f}" for s in per_sample)]
            for name in per_sample[0]]


def compare_rows(labels: tp.Sequence[str], comparison: Comparison) -> tp.List[list]:
    """One row per run: label, settings, NFE, solve seconds, RMSE against the reference, warnings."""
    rows = []
    for label, run in zip(labels, comparison.runs):
        if not run.done:
            rows.append([label, run.solver.label, f"> {run.solver.max_nfe}", "", "", "stopped at the NFE cap"])
            continue
        r = run.result
        rows.append([label, run.solver.label, str(r.nfe), f"{r.timings['sampling']:.2f}",
                     "0 (reference)" if run.is_reference else f"{run.rmse:.2e}", "; ".join(r.warnings)])
    return rows


def run_traces(labels: tp.Sequence[str], comparison: Comparison) -> tp.List[solve_plots.RunTrace]:
    """The finished runs as the comparison figure draws them (first sample's trajectory)."""
    return [solve_plots.RunTrace(label, run.solver.method, run.result.trajectory.latents[:, 0].numpy(), run.nfe,
                           run.rmse, run.is_reference)
            for label, run in zip(labels, comparison.runs) if run.done]


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
