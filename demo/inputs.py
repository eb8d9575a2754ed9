"""UI values -> typed values for the library: numbers, files, text, guidance, solvers, Compare runs.

Every function here takes what a page control (or an API caller) gives and returns what
`jasco_core` takes, or raises `FieldError` naming the control. The library checks ranges itself
(durations, seeds, weights, steps), so its errors name the same fields; `user_error` turns any
`FieldError` into the `gr.Error` the page shows, titled with the control's label (`FIELD_LABELS`,
dotted library fields such as 'solver.steps' included). `UIDefaults` gives the
controls their initial values from the pipeline's public properties.
"""
from __future__ import annotations

import dataclasses
import html
import math
import os
import re
import typing as tp

import gradio as gr
import numpy as np
import soundfile as sf

from jasco_core.errors import FieldError
from jasco_core.guidance import Guidance
from jasco_core.pipeline import Pipeline
from jasco_core.schedules import schedule_text
from jasco_core.solvers import FIXED_STEP_METHODS, METHODS, PRESETS, SolverConfig, SolverConfigError

MAX_SAMPLE_PLAYERS = 4      # audio players on the Generate tab (one per sample)
MAX_COMPARE_RUNS = 8        # audio players on the Compare tab (one per run)
MIN_DURATION = 1.0          # the duration slider's lowest value
MAX_PAGE_DURATION = 120.0   # the page's longest clip (the library allows 300 s): a shared server
MIN_EXTEND = 0.5            # the shortest extension (the library's shortest clip)
LOG10_TOL_RANGE = (-8.0, -1.0)
W_ALL_RANGE, W_TEXT_RANGE = (0.0, 10.0), (-10.0, 10.0)   # the weight sliders (widened for a model's default)
MAX_NFE_LIMIT = 5000        # the page's NFE cap (a shared server: no runaway solves)
MAX_SEED = 2**31 - 1

# Solver presets offered by name on every tab ("fast" is the loaded model's fitted solver when it has one)
NAMED_SOLVERS = ("fast", "reference")
# Compare tab: "fast" and "reference", then each other distinct preset of the library once, in its order
COMPARE_PRESETS: tp.List[str] = [*NAMED_SOLVERS, *(name for i, (name, cfg) in enumerate(PRESETS.items())
                                                   if name not in NAMED_SOLVERS and cfg not in list(PRESETS.values())[:i]
                                                   and cfg != PRESETS["reference"])]
DEFAULT_COMPARE_RUNS = ["Euler 4", "Euler 8", "Euler 16", "Midpoint 8", "fast", "dopri5 1e-3", "reference"]
# the Time grid menu (any other grid can be typed: 'sway=-0.6', 'power=1.5', '0, 0.1, 0.4, 1')
SCHEDULE_CHOICES = ["uniform", "sway=-1", "sway=-0.8", "cosine", "power=2"]

# field (a page parameter, or a library field, dotted for part of an argument) -> the control's label
FIELD_LABELS = {
    "text": "Prompt", "chords": "Chord progression", "bpm": "Tempo (BPM)", "meter": "Meter",
    "drums": "Drums", "melody": "Melody", "duration": "Duration", "guidance": "Guidance weights",
    "guidance.all": "w_all", "guidance.text": "w_text", "guidance.null": "w_null",
    "solver": "Solver", "solver.method": "Solver", "solver.steps": "Steps", "solver.rtol": "rtol",
    "solver.schedule": "Time grid", "schedule": "Time grid",
    "solver.atol": "atol", "solver.max_nfe": "NFE cap", "seed": "Seed", "num_samples": "Number of samples",
    "model": "Model", "max_nfe": "NFE cap", "steps": "Steps", "rtol": "rtol", "atol": "atol",
    "log10_rtol": "rtol", "log10_atol": "atol", "w_all": "w_all", "w_text": "w_text", "w_null": "w_null",
    "runs": "Runs to compare", "extra_runs": "More runs",
    "audio": "Audio to edit", "start": "Start (s)", "end": "End (s)", "seconds": "Extend by (s)",
}
# the guidance and solver controls of a tab, in the order of the handlers' parameters
SAMPLING_PARAMS = ("w_all", "w_text", "null_auto", "w_null", "solver", "steps", "schedule", "log10_rtol", "log10_atol",
                   "max_nfe")
# library field -> the page parameter that holds it, where their names differ
PAGE_FIELDS = {
    "guidance.all": "w_all", "guidance.text": "w_text", "guidance.null": "w_null", "solver.method": "solver",
    "solver.steps": "steps", "solver.rtol": "rtol", "solver.atol": "atol", "solver.max_nfe": "max_nfe",
    "solver.schedule": "schedule",
}


# -- errors -----------------------------------------------------------------------------------------
def field_label(field: str) -> str:
    """The label of the control holding `field` ('solver.steps' -> 'Steps'; else the part before the dot)."""
    return FIELD_LABELS.get(field) or FIELD_LABELS.get(field.split(".")[0], field)


def field_error(field: str, message: str) -> gr.Error:
    """A `gr.Error` titled with the control at fault; the text is 'field: what is expected'."""
    text = message if message.startswith(f"{field}:") else f"{field}: {message}"
    return gr.Error(html.escape(text, quote=False), title=f"Check \u201c{field_label(field)}\u201d",
                    print_exception=False)


def user_error(err: FieldError) -> gr.Error:
    """Any error of the library or of this module, against the page parameter that holds its field."""
    return field_error(PAGE_FIELDS.get(err.field, err.field), err.message)


# -- plain values -------------------------------------------------------------------------------------
def number(field: str, value: tp.Any, expected: str, lo: float = -math.inf, hi: float = math.inf,
           integer: bool = False) -> tp.Union[int, float]:
    """A finite number in [lo, hi] from a UI or API value (numeric text too)."""
    try:
        if isinstance(value, bool):
            raise TypeError
        result = float(value)
    except (TypeError, ValueError):
        raise FieldError(field, f"expected {expected}, got {value!r}") from None
    if not math.isfinite(result) or not lo <= result <= hi:
        raise FieldError(field, f"expected {expected}, got {value!r}")
    if integer:
        if result != round(result):
            raise FieldError(field, f"expected {expected} (a whole number), got {value!r}")
        return int(round(result))
    return result


def text(field: str, value: tp.Any) -> str:
    """A text box's value ('' for None)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FieldError(field, f"expected text, got {type(value).__name__}")
    return value


def file_value(field: str, value: tp.Any) -> tp.Union[None, str, tuple]:
    """An uploaded file: a path, Gradio's file dict, or a recorded (rate, samples) pair; None if empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dict):  # gradio_client FileData or {"path": ...}
        value = value.get("path") or value.get("name")
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return tuple(value)
    if isinstance(value, (str, os.PathLike)):
        if not os.path.isfile(value):
            raise FieldError(field, f"the uploaded file {os.path.basename(str(value))!r} cannot be found; upload it again")
        return str(value)
    raise FieldError(field, f"expected an uploaded file, got {type(value).__name__}")


def file_name(value: tp.Any) -> tp.Optional[str]:
    """How a file input is recorded in the JSON: its base name (never a server path)."""
    if value is None:
        return None
    return os.path.basename(value) if isinstance(value, str) else "<recorded audio>"


# -- requests -----------------------------------------------------------------------------------------
def request_args(text_value, chords, drums, melody, duration, bpm, meter, seed, random_seed,
                 max_duration: float = MAX_PAGE_DURATION) -> tp.Dict[str, tp.Any]:
    """The arguments of `Pipeline.generate` that every tab shares (seed None: draw one); the
    duration within the page's range (`max_duration`: the page's limit for the model). `duration`
    None leaves it out (an edit: the audio sets the length)."""
    meter = text("meter", meter).strip() or "4/4"
    if random_seed in (None, True):
        seed = None
    else:
        seed = number("seed", seed, f"a whole number from 0 to {MAX_SEED}", 0, MAX_SEED, integer=True)
    args = dict(text=text("text", text_value), chords=text("chords", chords).strip() or None,
                drums=file_value("drums", drums), melody=file_value("melody", melody), bpm=bpm, meter=meter, seed=seed)
    if duration is not None:
        args["duration"] = number("duration", duration, f"seconds from {MIN_DURATION:g} to {max_duration:g}",
                                  MIN_DURATION, max_duration)
    return args


# -- edits --------------------------------------------------------------------------------------------
def edit_audio(value: tp.Any, sample_rate: int, max_seconds: float) -> tp.Tuple[np.ndarray, int]:
    """The audio to edit (an upload, a recording, the last output) as `(mono samples, sample_rate)`
    at the model's rate, at most `max_seconds` long; read once here, so that the page's limit is
    checked before the model runs and the library does not decode it again."""
    from jasco_core.editing import read_edit_audio

    if value is None or (isinstance(value, str) and not value.strip()):
        raise FieldError("audio", "no audio given: upload a clip, record one, or press “Use the last output”")
    return read_edit_audio(file_value("audio", value), sample_rate, max_seconds), int(sample_rate)


def audio_seconds(value: tp.Any) -> tp.Optional[float]:
    """The length of an audio file in seconds from its header (None when it cannot be told cheaply)."""
    try:
        path = file_value("audio", value)
        return float(sf.info(path).duration) if isinstance(path, str) else None
    except (FieldError, RuntimeError, TypeError, ValueError):
        return None


def extend_seconds(value: tp.Any, given: float, max_duration: float) -> float:
    """How many seconds to add to a clip of `given` seconds, the result at most `max_duration`."""
    room = max_duration - given
    return number("seconds", value, f"seconds from {MIN_EXTEND:g} to {max(room, MIN_EXTEND):.1f} (the result is at "
                  f"most {max_duration:g} s and the clip is {given:.1f} s)", MIN_EXTEND, room)


def guidance(w_all, w_text, null_auto, w_null) -> Guidance:
    """The guidance sliders; 'null = 1 - all - text' ticked (or None) ignores `w_null`."""
    null = None if null_auto in (None, True) else w_null
    return Guidance(all=w_all, text=w_text, null=null)


def sampling(d: "UIDefaults", w_all, w_text, null_auto, w_null, solver, steps, schedule, log10_rtol, log10_atol,
             max_nfe) -> tp.Tuple[Guidance, SolverConfig]:
    """A tab's guidance and solver controls (`SAMPLING_PARAMS`; None: the model's default, `d`)."""
    pick = lambda value, default: default if value is None else value  # noqa: E731
    return (guidance(pick(w_all, d.w_all), pick(w_text, d.w_text), pick(null_auto, d.null_auto), pick(w_null, d.w_null)),
            solver_config(pick(solver, d.solver), pick(steps, d.steps), pick(schedule, d.schedule),
                          pick(log10_rtol, d.log10_rtol), pick(log10_atol, d.log10_atol), pick(max_nfe, d.max_nfe),
                          presets=d.presets_dict))


def solver_choices(d: "UIDefaults") -> tp.List[tp.Tuple[str, str]]:
    """The Method menu: the named presets (with what they are for the model) then every method."""
    presets = d.presets_dict
    named = [(f"{name} \u00b7 {presets[name].label}", name) for name in NAMED_SOLVERS if name in presets]
    return named + [(m, m) for m in METHODS]


def solver_visibility(solver: tp.Optional[str]) -> tp.Tuple[bool, bool]:
    """(show steps and time grid, show tolerances) for a Method value: neither for a preset or a spec."""
    method = (solver or "").strip().lower() if isinstance(solver, str) else ""
    return method in FIXED_STEP_METHODS, method in METHODS and method not in FIXED_STEP_METHODS


def nfe_cap(value) -> int:
    return number("max_nfe", value, f"an integer from 1 to {MAX_NFE_LIMIT}", 1, MAX_NFE_LIMIT, integer=True)


def solver_config(method, steps, schedule, log10_rtol, log10_atol, max_nfe,
                  presets: tp.Optional[tp.Mapping[str, SolverConfig]] = None) -> SolverConfig:
    """The solver controls: a method, its steps and time grid (fixed-step) or log10 tolerances
    (adaptive), a cap. `method` may also name a preset ('fast', 'reference': its own settings, the
    others ignored; `presets`: the model's) or be a full spec such as 'midpoint:5/sway=-1' (API)."""
    cap = nfe_cap(max_nfe)
    named = PRESETS if presets is None else presets
    if isinstance(method, str) and (method.strip().lower() not in METHODS):
        try:
            return SolverConfig.parse(method, max_nfe=cap, presets=named)
        except SolverConfigError as err:
            raise FieldError("solver", f"expected a method ({', '.join(METHODS)}), a preset "
                             f"({', '.join(NAMED_SOLVERS)}) or a spec such as 'midpoint:5/sway=-1'; {err.message}") from None
    lo, hi = LOG10_TOL_RANGE
    tolerance = f"log10(%s) between {lo:g} and {hi:g}, e.g. -4 for 1e-4"
    rtol = 10.0 ** number("rtol", log10_rtol, tolerance % "rtol", lo, hi)
    atol = 10.0 ** number("atol", log10_atol, tolerance % "atol", lo, hi)
    fixed = isinstance(method, str) and method.strip().lower() in FIXED_STEP_METHODS
    grid = (text("schedule", schedule).strip() or "uniform") if fixed and not isinstance(schedule, (list, tuple)) \
        else (schedule if fixed else "uniform")
    return SolverConfig(method=method, steps=steps, rtol=rtol, atol=atol, max_nfe=cap, schedule=grid)


def api_params(fn: tp.Callable) -> tp.List[str]:
    """Names of a handler's UI inputs, in order (Gradio's request and progress excluded): its API."""
    import inspect

    return [name for name in inspect.signature(fn).parameters if name not in ("self", "request", "progress")]


def num_samples(value) -> int:
    return number("num_samples", value, f"an integer from 1 to {MAX_SAMPLE_PLAYERS}", 1, MAX_SAMPLE_PLAYERS,
                  integer=True)


def run_label(config: SolverConfig) -> str:
    """A typed run's label: 'rk4 8', 'midpoint 5 sway=-1', 'bosh3 1e-04'."""
    if not config.is_fixed_step:
        return f"{config.method} {config.rtol:.0e}"
    grid = "" if config.schedule == "uniform" else (" fitted" if isinstance(config.schedule, tuple) else f" {config.schedule}")
    return f"{config.method} {config.steps}{grid}"


def compare_runs(runs, extra_runs, max_nfe: int,
                 presets: tp.Optional[tp.Mapping[str, SolverConfig]] = None) -> tp.List[tp.Tuple[str, SolverConfig]]:
    """Presets ticked on the page plus typed runs ('rk4:8, midpoint:5/sway=-1, bosh3:1e-4') ->
    labelled solver settings, each distinct setting once, with the NFE cap (at least what a
    fixed-step run needs). `presets`: the loaded model's (its own "fast")."""
    named = PRESETS if presets is None else presets
    plan: tp.List[tp.Tuple[str, SolverConfig]] = []
    for name in runs or []:
        if name not in COMPARE_PRESETS:
            raise FieldError("runs", f"unknown preset {name!r}; expected some of {', '.join(COMPARE_PRESETS)}")
        plan.append((name, SolverConfig.parse(name, max_nfe=max_nfe, presets=named)))
    # runs are separated by ',' ';' or a space before the next method's name ('Euler 4' stays one run)
    for token in re.split(r"\s*[,;]\s*|\s+(?=[A-Za-z])", text("extra_runs", extra_runs).strip()):
        if token:
            try:
                config = SolverConfig.parse(token, max_nfe=max_nfe, presets=named)
            except SolverConfigError as err:
                raise FieldError("extra_runs", err.message) from None
            plan.append((run_label(config), config))
    unique: tp.List[tp.Tuple[str, SolverConfig]] = []
    for label, config in plan:
        if all(config != c for _, c in unique):
            unique.append((label, config))
    if not unique:
        raise FieldError("runs", "tick at least one preset or type runs such as 'euler:8, dopri5:1e-4'")
    if len(unique) > MAX_COMPARE_RUNS:
        raise FieldError("runs", f"at most {MAX_COMPARE_RUNS} runs at a time; {len(unique)} were chosen")
    return unique


# -- defaults ----------------------------------------------------------------------------------------
def _log10(value: float) -> float:
    """A tolerance on the half-decade grid of the tolerance sliders."""
    return float(min(max(round(math.log10(value) * 2) / 2, LOG10_TOL_RANGE[0]), LOG10_TOL_RANGE[1]))


@dataclasses.dataclass(frozen=True)
class UIDefaults:
    """Initial value of every control, from the model's measured defaults. These are also the
    defaults of the `/generate` and `/compare` API parameters."""

    model: str
    sample_rate: int
    frame_rate: float
    accepts: tp.Tuple[str, ...]
    duration: float
    max_duration: float        # the page's longest clip: `MAX_PAGE_DURATION` or less
    window_seconds: float      # the model's native window; longer clips are made of windows
    w_all: float
    w_text: float
    w_null: float
    null_auto: bool
    solver: str
    steps: int
    schedule: str
    log10_rtol: float
    log10_atol: float
    max_nfe: int
    text: str = ""
    chords: str = ""
    bpm: float = 120.0
    meter: str = "4/4"
    seed: int = 0
    random_seed: bool = True
    num_samples: int = 1
    adherence: bool = True
    presets: tp.Tuple[tp.Tuple[str, SolverConfig], ...] = tuple(PRESETS.items())   # the model's, "fast" its own

    @property
    def presets_dict(self) -> tp.Dict[str, SolverConfig]:
        return dict(self.presets)

    @property
    def duration_adjustable(self) -> bool:
        return self.max_duration > MIN_DURATION

    @classmethod
    def from_pipeline(cls, pipe: Pipeline, model: str) -> "UIDefaults":
        d = pipe.defaults
        weights = d.guidance.weights()
        return cls(
            model=model, sample_rate=pipe.sample_rate, frame_rate=pipe.frame_rate, accepts=tuple(pipe.accepts),
            duration=float(min(d.duration, pipe.max_duration, MAX_PAGE_DURATION)),
            max_duration=float(min(pipe.max_duration, MAX_PAGE_DURATION)), window_seconds=float(pipe.window_seconds),
            w_all=weights["all"], w_text=weights["text"], w_null=weights["null"], null_auto=d.guidance.null is None,
            solver=d.solver.method, steps=int(d.solver.steps), schedule=schedule_text(d.solver.schedule),
            log10_rtol=_log10(d.solver.rtol), log10_atol=_log10(d.solver.atol),
            max_nfe=min(int(d.solver.max_nfe), MAX_NFE_LIMIT), presets=tuple(pipe.presets.items()))
