"""What the demo's events do: UI values -> generation request -> what the page shows.

`DemoHandlers` owns the model (loaded once, when the demo is built) and one method per event:
`generate`, `compare`, the live condition previews, `select_model` and `stop`. Each method checks
the raw UI values first (so a wrong value is reported against the control that holds it),
calls `Pipeline.generate`, then turns the result into audio files, figures (`demo.plots`), a
stats table and a JSON of every parameter needed to reproduce the result.

Errors a user can cause become `gr.Error` naming the field and the expected form; the server
keeps serving. A per-session stop flag, checked at every field evaluation, makes the Stop button
interrupt a solve that is already running (Gradio's own cancel only stops waiting for it).
"""
from __future__ import annotations

import dataclasses
import html
import inspect
import json
import logging
import math
import os
import re
import shutil
import tempfile
import threading
import time
import typing as tp
import uuid
import warnings

import numpy as np
import soundfile as sf
import gradio as gr

from jasco_core import conditions as C
from jasco_core.conditions import ConditionError
from jasco_core.guidance import Guidance, GuidanceError
from jasco_core.pipeline import GenerationError, GenerationResult, Pipeline, load_pipeline
from jasco_core.solvers import FIXED_STEP_METHODS, METHODS, MaxNFEExceeded, SolverConfig, SolverConfigError

from . import plots

logger = logging.getLogger(__name__)

MAX_SAMPLE_PLAYERS = 4      # audio players on the Generate tab (one per sample)
MAX_COMPARE_RUNS = 8        # audio players on the Compare tab (one per run)
KEEP_OUTPUT_DIRS = 32       # per-request output folders kept on disk (oldest removed first)
MIN_DURATION = 1.0
LOG10_TOL_RANGE = (-8.0, -1.0)
MAX_NFE_LIMIT = 5000
GPU_SECONDS = 120           # ZeroGPU allocation per request

STATS_HEADERS = ["quantity", "value"]
COMPARE_HEADERS = ["run", "settings", "NFE", "solve s", "RMSE vs. reference", "warnings"]

# Compare tab presets: label -> solver settings (fixed-step: steps; adaptive: rtol = atol)
COMPARE_PRESETS: tp.Dict[str, tp.Tuple[str, float]] = {
    "Euler 4": ("euler", 4), "Euler 8": ("euler", 8), "Euler 16": ("euler", 16),
    "Midpoint 8": ("midpoint", 8), "RK4 8": ("rk4", 8),
    "dopri5 1e-3": ("dopri5", 1e-3), "dopri5 1e-4": ("dopri5", 1e-4), "dopri5 1e-5": ("dopri5", 1e-5),
}
DEFAULT_COMPARE_RUNS = ["Euler 4", "Euler 8", "Euler 16", "Midpoint 8", "dopri5 1e-3", "dopri5 1e-5"]

# library field name -> the control it belongs to on the page
FIELD_LABELS = {
    "text": "Prompt", "chords": "Chord progression", "bpm": "Tempo (BPM)", "meter": "Meter",
    "drums": "Drums", "melody": "Melody", "duration": "Duration", "guidance": "Guidance weights",
    "solver": "Solver", "seed": "Seed", "num_samples": "Number of samples", "model": "Model",
    "max_nfe": "NFE cap", "steps": "Steps", "rtol": "rtol", "atol": "atol", "runs": "Runs to compare",
    "extra_runs": "More runs",
}

try:  # ZeroGPU Spaces: the GPU is attached only inside functions wrapped by `spaces.GPU`
    import spaces  # type: ignore
except ImportError:  # a CPU machine or a plain GPU: run as is
    spaces = None


def _on_gpu(fn):
    return spaces.GPU(duration=GPU_SECONDS)(fn) if spaces is not None else fn


@_on_gpu
def _run_generation(pipe: Pipeline, kwargs: dict) -> GenerationResult:
    """The GPU work of one request (wrapped for ZeroGPU when available)."""
    return pipe.generate(**kwargs)


@_on_gpu
def _run_comparison(pipe: Pipeline, runs: tp.Sequence[dict]) -> tp.List[tp.Union[GenerationResult, Exception]]:
    """All solver runs of a comparison in one GPU allocation; a run that hits its NFE cap is returned
    as the exception so the others still show."""
    out: tp.List[tp.Union[GenerationResult, Exception]] = []
    for kwargs in runs:
        try:
            out.append(pipe.generate(**kwargs))
        except MaxNFEExceeded as err:
            out.append(err)
    return out


class Stopped(Exception):
    """Raised inside the solver's progress callback when the user pressed Stop."""


def field_error(field: str, message: str) -> gr.Error:
    """A `gr.Error` titled with the control at fault; `message` says what is expected."""
    label = FIELD_LABELS.get(field, field)
    text = message if message.startswith(f"{field}:") else f"{field}: {message}"
    return gr.Error(html.escape(text, quote=False), title=f"Check \u201c{label}\u201d", print_exception=False)


def _library_error(err: Exception) -> gr.Error:
    field = getattr(err, "field", None) or "input"
    return field_error(field, str(err))


USER_ERRORS: tp.Tuple[type, ...] = (ConditionError, GenerationError, GuidanceError, SolverConfigError)
try:
    from jasco_core.checkpoints import CheckpointError
    USER_ERRORS += (CheckpointError,)
except ImportError:  # pragma: no cover
    pass
try:
    from jasco_core.codecs import CodecError
    USER_ERRORS += (CodecError,)
except ImportError:  # pragma: no cover
    pass


# ---------------------------------------------------------------------------------- utilities
class CancelFlags:
    """Stop requests per browser session (thread-safe)."""

    def __init__(self):
        self._flags: tp.Dict[str, bool] = {}
        self._lock = threading.Lock()

    def set(self, key: str) -> None:
        with self._lock:
            self._flags[key] = True

    def clear(self, key: str) -> None:
        with self._lock:
            self._flags.pop(key, None)

    def is_set(self, key: str) -> bool:
        with self._lock:
            return self._flags.get(key, False)


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


def _number(field: str, value, expected: str, lo: float = -math.inf, hi: float = math.inf,
            integer: bool = False) -> tp.Union[int, float]:
    """A finite number in [lo, hi] from a UI or API value, else `gr.Error` naming the field."""
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError):
        raise field_error(field, f"expected {expected}, got {value!r}") from None
    if not math.isfinite(number) or not lo <= number <= hi:
        raise field_error(field, f"expected {expected}, got {value!r}")
    if integer:
        if number != round(number):
            raise field_error(field, f"expected {expected} (a whole number), got {value!r}")
        return int(round(number))
    return number


def _file_value(field: str, value) -> tp.Optional[tp.Any]:
    """An uploaded file (a path, Gradio's file dict, or a recorded (rate, samples) pair), or None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dict):  # gradio_client FileData or {"path": ...}
        value = value.get("path") or value.get("name")
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return tuple(value)
    if isinstance(value, (str, os.PathLike)):
        if not os.path.isfile(value):
            raise field_error(field, f"the uploaded file {os.path.basename(str(value))!r} cannot be found; upload it again")
        return str(value)
    raise field_error(field, f"expected an uploaded file, got {type(value).__name__}")


def _text_value(field: str, value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise field_error(field, f"expected text, got {type(value).__name__}")
    return value


def _session_key(request: tp.Optional[gr.Request]) -> str:
    return getattr(request, "session_hash", None) or "local"


def _solver_label(solver: SolverConfig) -> str:
    if solver.is_fixed_step:
        return f"{solver.method}, {solver.steps} steps"
    return f"{solver.method}, rtol {solver.rtol:.0e}, atol {solver.atol:.0e}"


def _log10(value: float) -> float:
    return float(np.clip(round(math.log10(value) * 2) / 2, *LOG10_TOL_RANGE))


# ---------------------------------------------------------------------------------- defaults
@dataclasses.dataclass(frozen=True)
class ModelChoice:
    value: str          # what `load_pipeline` takes
    label: str          # what the dropdown shows
    available: bool
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class UIDefaults:
    """Initial value of every control, from the model's measured defaults. These are also the
    defaults of the `/generate` and `/compare` API parameters."""

    model: str
    sample_rate: int
    frame_rate: float
    accepts: tp.Tuple[str, ...]
    duration: float
    max_duration: float
    w_all: float
    w_text: float
    w_null: float
    null_auto: bool
    solver: str
    steps: int
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

    @property
    def duration_adjustable(self) -> bool:
        return self.max_duration > MIN_DURATION

    @classmethod
    def from_pipeline(cls, pipe: Pipeline, model: str) -> "UIDefaults":
        d = pipe.bundle.defaults
        weights = d.guidance.weights()
        return cls(
            model=model, sample_rate=pipe.sample_rate, frame_rate=pipe.bundle.frame_rate, accepts=pipe.bundle.accepts,
            duration=float(min(d.duration, pipe.bundle.max_duration)), max_duration=float(pipe.bundle.max_duration),
            w_all=weights["all"], w_text=weights["text"], w_null=weights["null"], null_auto=d.guidance.null is None,
            solver=d.solver.method, steps=int(d.solver.steps), log10_rtol=_log10(d.solver.rtol),
            log10_atol=_log10(d.solver.atol), max_nfe=int(d.solver.max_nfe))


def _handler_params(fn: tp.Callable) -> tp.List[str]:
    """Names of a handler's UI inputs, in order (Gradio's request and progress excluded)."""
    return [name for name in inspect.signature(fn).parameters if name not in ("self", "request", "progress")]


# ---------------------------------------------------------------------------------- handlers
class DemoHandlers:
    """The demo's event handlers around one pre-loaded pipeline.

    Args:
        model: 'embedded', a bundle folder or a released checkpoint name; loaded now.
        loader: how a model name becomes a `Pipeline` (default `jasco_core.load_pipeline`, cached).
        output_dir: where per-request downloads go (default: a folder in the system temp dir).
    """

    def __init__(self, model: str = "embedded", *, loader: tp.Callable[[str], Pipeline] = load_pipeline,
                 output_dir: tp.Optional[str] = None, keep_outputs: int = KEEP_OUTPUT_DIRS, warm_up: bool = True):
        self.default_model = model
        self._loader = loader
        self.pipeline = loader(model)
        self.defaults = UIDefaults.from_pipeline(self.pipeline, model)
        self.outputs = OutputStore(output_dir, keep_outputs)
        self.cancel = CancelFlags()
        self.choices = self._model_choices()
        if warm_up:
            self.warm_up()

    def warm_up(self) -> None:
        """Do once, at start, what the first request would otherwise wait for: load the text
        encoder, prepare the codec's decoding matrices (one 1-step generation of a 1 s clip) and
        run the audio analyses of the previews and adherence scores once."""
        started = time.perf_counter()
        # on ZeroGPU a GPU exists only inside `spaces.GPU` functions: no warm-up solve there
        if spaces is None or self.pipeline.device.type == "cpu":
            try:
                self.pipeline.generate("warm up", duration=min(1.0, self.pipeline.bundle.max_duration), seed=0,
                                       solver=SolverConfig("euler", steps=1))
            except Exception as err:  # a failed warm-up only costs time later
                logger.warning("warm-up generation failed: %s", err)
        try:  # the first CQT / onset analysis compiles and caches filters: do it on a second of noise
            from jasco_core import metrics
            noise = np.random.default_rng(0).standard_normal(self.pipeline.sample_rate).astype(np.float32) * 0.1
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                metrics.chord_accuracy(noise, self.pipeline.sample_rate, [("C", 0.0)], 1.0)
                C.onset_times(noise, self.pipeline.sample_rate)
        except Exception as err:  # metrics missing or failing: only the first request is slower
            logger.info("adherence metrics not warmed up: %s", err)
        logger.info("warm-up took %.1f s", time.perf_counter() - started)

    # -- models -------------------------------------------------------------------------------
    def _model_choices(self) -> tp.List[ModelChoice]:
        label = self.default_model if self.default_model == "embedded" else f"{self.pipeline.name} (local bundle)"
        choices = [ModelChoice(self.default_model, label, True)]
        try:
            from jasco_core import checkpoints
            listed = checkpoints.available_models() if hasattr(checkpoints, "available_models") else []
        except Exception as err:  # a broken cache must not stop the demo
            logger.warning("cannot list released checkpoints: %s", err)
            listed = []
        for entry in listed:
            name, available, reason = entry[0], bool(entry[1]), str(entry[2] or "")
            if name == self.default_model:
                continue
            choices.append(ModelChoice(name, name if available else f"{name} (unavailable)", available, reason))
        return choices

    def model_info(self) -> str:
        """Markdown next to the model menu: what is loaded and what it accepts."""
        pipe = self.pipeline
        return (f"Loaded: **{html.escape(pipe.name, quote=False)}** \u00b7 {pipe.sample_rate} Hz \u00b7 up to "
                f"{pipe.bundle.max_duration:g} s \u00b7 conditions: {', '.join(pipe.bundle.accepts)} \u00b7 {pipe.device}")

    def unavailable_info(self) -> str:
        """Markdown list of the checkpoints that cannot be chosen, and why ('' if none)."""
        return "\n".join(f"- *{html.escape(c.value, quote=False)}*: "
                         f"{html.escape(c.reason or 'not found in the local cache', quote=False)}"
                         for c in self.choices if not c.available)

    def _pipeline_for(self, model: tp.Optional[str]) -> Pipeline:
        if model in (None, "", self.default_model):
            return self.pipeline
        choice = next((c for c in self.choices if c.value == model), None)
        if choice is None:
            known = ", ".join(repr(c.value) for c in self.choices)
            raise field_error("model", f"unknown model {model!r}; expected one of {known}")
        if not choice.available:
            raise field_error("model", f"{model!r} is unavailable: {choice.reason or 'not in the local cache'}; "
                                       f"choose {self.default_model!r}")
        try:
            return self._loader(model)
        except USER_ERRORS as err:
            raise _library_error(err) from None

    def select_model(self, model: str):
        """Model menu changed: load the model (or refuse, with the reason) and fit the duration slider."""
        try:
            pipe = self._pipeline_for(model)
        except gr.Error as err:
            gr.Warning(err.message)
            model, pipe = self.default_model, self.pipeline
        b = pipe.bundle
        duration = gr.update(maximum=b.max_duration, value=min(b.defaults.duration, b.max_duration),
                             interactive=b.max_duration > MIN_DURATION)
        return gr.update(value=model), duration, duration

    # -- checking UI values ---------------------------------------------------------------------
    def _guidance(self, w_all, w_text, null_auto, w_null) -> Guidance:
        w_all = _number("guidance", w_all, "w_all as a number, e.g. 3")
        w_text = _number("guidance", w_text, "w_text as a number, e.g. 0")
        null = None if null_auto in (None, True) else _number("guidance", w_null, "w_null as a number, e.g. -2")
        guidance = Guidance(all=w_all, text=w_text, null=null)
        try:
            guidance.active_terms()
        except GuidanceError as err:
            raise _library_error(err) from None
        return guidance

    def _solver(self, method, steps, log10_rtol, log10_atol, max_nfe) -> SolverConfig:
        if method not in METHODS:
            raise field_error("solver", f"expected one of {', '.join(METHODS)}, got {method!r}")
        steps = _number("steps", steps, "an integer number of steps from 1 to 1000", 1, 1000, integer=True)
        lo, hi = LOG10_TOL_RANGE
        rtol = 10.0 ** _number("rtol", log10_rtol, f"log10(rtol) between {lo:g} and {hi:g}, e.g. -4 for 1e-4", lo, hi)
        atol = 10.0 ** _number("atol", log10_atol, f"log10(atol) between {lo:g} and {hi:g}, e.g. -4 for 1e-4", lo, hi)
        max_nfe = _number("max_nfe", max_nfe, f"an integer from 1 to {MAX_NFE_LIMIT}", 1, MAX_NFE_LIMIT, integer=True)
        if method in FIXED_STEP_METHODS and steps * FIXED_STEP_METHODS[method] > max_nfe:
            raise field_error("max_nfe", f"{method} with {steps} steps needs {steps * FIXED_STEP_METHODS[method]} "
                                         f"evaluations; raise the NFE cap to at least that or use fewer steps")
        try:
            return SolverConfig(method=method, steps=steps, rtol=rtol, atol=atol, max_nfe=max_nfe)
        except SolverConfigError as err:
            raise _library_error(err) from None

    def _common(self, pipe: Pipeline, text, chords, drums, melody, duration, bpm, meter, seed, random_seed) -> dict:
        max_duration = pipe.bundle.max_duration
        duration = _number("duration", duration, f"seconds between {MIN_DURATION:g} and {max_duration:g}",
                           min(MIN_DURATION, max_duration), max_duration)
        bpm = _number("bpm", bpm, "a tempo between 20 and 400 beats per minute, e.g. 120", 20, 400)
        meter = _text_value("meter", meter).strip() or "4/4"
        if not re.fullmatch(r"\d+\s*/\s*\d+", meter):
            raise field_error("meter", f"expected a meter like '4/4', '3/4' or '6/8', got {meter!r}")
        if random_seed in (None, True):
            seed_value = None
        else:
            seed_value = _number("seed", seed, "a whole number from 0 to 2147483647", 0, 2**31 - 1, integer=True)
        return dict(text=_text_value("text", text), chords=_text_value("chords", chords).strip() or None,
                    drums=_file_value("drums", drums), melody=_file_value("melody", melody),
                    duration=duration, bpm=bpm, meter=meter, seed=seed_value)

    def _progress(self, progress, key: str, end: float, trace: list, offset: float = 0.0, scale: float = 1.0,
                  prefix: str = "") -> tp.Callable[[float, int], None]:
        """The solver's progress(t, nfe) callback: feeds the page's progress bar with the real t and NFE,
        records (t, NFE) for the plots, and stops the solve when the session pressed Stop."""
        state = {"t": 0.0}

        def report(t: float, nfe: int) -> None:
            if self.cancel.is_set(key):
                raise Stopped()
            trace.append((float(t), int(nfe)))
            state["t"] = max(state["t"], float(t))
            fraction = min(state["t"] / end, 1.0) if end > 0 else 1.0
            progress(offset + scale * fraction, desc=f"{prefix}NFE {nfe} \u00b7 t = {state['t']:.3f}")
        return report

    def stop(self, request: gr.Request = None):
        """Stop button: ask this session's running solve to stop at its next field evaluation."""
        self.cancel.set(_session_key(request))
        return "Stopping\u2026"

    # -- generate -----------------------------------------------------------------------------
    def generate(self, text: str = "", chords: str = "", drums=None, melody=None, duration: float = None,
                 bpm: float = 120.0, meter: str = "4/4", w_all: float = None, w_text: float = None,
                 null_auto: bool = True, w_null: float = None, solver: str = None, steps: int = None,
                 log10_rtol: float = None, log10_atol: float = None, max_nfe: int = None, seed: int = 0,
                 random_seed: bool = True, num_samples: int = 1, model: str = None, adherence: bool = True,
                 request: gr.Request = None, progress=gr.Progress()):
        """Generate music from a prompt and optional chords, drums and melody.

        Every argument but `text` is optional; missing ones take the model's defaults. Returns
        one audio file per sample (up to 4), the trajectory and spectrogram figures, a stats
        table, the WAV and JSON downloads, the seed used, and a status line.
        """
        started = time.perf_counter()
        d = self.defaults
        pick = lambda value, default: default if value is None else value  # noqa: E731
        key = _session_key(request)
        self.cancel.clear(key)
        pipe = self._pipeline_for(model)
        kwargs = self._common(pipe, text, chords, drums, melody, pick(duration, d.duration), bpm, meter, seed, random_seed)
        kwargs["guidance"] = self._guidance(pick(w_all, d.w_all), pick(w_text, d.w_text), null_auto, pick(w_null, d.w_null))
        kwargs["solver"] = self._solver(pick(solver, d.solver), pick(steps, d.steps), pick(log10_rtol, d.log10_rtol),
                                        pick(log10_atol, d.log10_atol), pick(max_nfe, d.max_nfe))
        kwargs["num_samples"] = _number("num_samples", num_samples, f"an integer from 1 to {MAX_SAMPLE_PLAYERS}",
                                        1, MAX_SAMPLE_PLAYERS, integer=True)
        trace: tp.List[tp.Tuple[float, int]] = []
        kwargs["trajectory"] = True
        kwargs["progress"] = self._progress(progress, key, kwargs["solver"].end_time, trace)
        progress(0.0, desc="encoding the prompt and conditions")
        result = self._run(_run_generation, pipe, kwargs)
        progress(1.0, desc="writing audio and drawing")

        folder = self.outputs.new_dir()
        stem = f"jasco_seed{result.seed}"
        wavs = []
        for k, audio in enumerate(result.audio):
            path = os.path.join(folder, f"{stem}_{k + 1}.wav")
            sf.write(path, audio, result.sample_rate, subtype="PCM_16")
            wavs.append(path)
        ui_values = dict(text=kwargs["text"], chords=kwargs["chords"] or "", drums=_name(kwargs["drums"]),
                         melody=_name(kwargs["melody"]), duration=kwargs["duration"], bpm=kwargs["bpm"],
                         meter=kwargs["meter"], w_all=float(kwargs["guidance"].all), w_text=float(kwargs["guidance"].text),
                         null_auto=kwargs["guidance"].null is None, w_null=kwargs["guidance"].weights()["null"],
                         solver=kwargs["solver"].method, steps=kwargs["solver"].steps,
                         log10_rtol=math.log10(kwargs["solver"].rtol), log10_atol=math.log10(kwargs["solver"].atol),
                         max_nfe=kwargs["solver"].max_nfe, seed=result.seed, random_seed=False,
                         num_samples=kwargs["num_samples"], model=pick(model, self.default_model))
        parameters = dict(result.parameters, drums=_name(kwargs["drums"]), melody=_name(kwargs["melody"]))
        record = {"parameters": parameters, "demo_inputs": ui_values,
                  "result": {"nfe": result.nfe, "seconds": round(result.seconds, 4), "timings": result.timings,
                             "accepted_steps": len(result.steps["times"]), "sample_rate": result.sample_rate,
                             "warnings": result.warnings, "files": [os.path.basename(p) for p in wavs]}}
        json_path = os.path.join(folder, f"{stem}_parameters.json")
        with open(json_path, "w") as f:
            json.dump(record, f, indent=1, default=_json_default)

        traj = result.trajectory
        trajectory_fig = plots.generation_figure(traj.times, traj.latents.numpy(), result.steps["times"],
                                                 result.steps["sizes"], trace)
        spectrogram_fig = plots.spectrogram_figure(result.audio, result.sample_rate)
        rows = self._stats_rows(pipe, result, kwargs, adherence)
        total = time.perf_counter() - started
        rows.insert(0, ["end-to-end seconds (server)", f"{total:.2f}"])
        players = [gr.update(value=wavs[k], visible=True, label=f"Sample {k + 1} \u00b7 {result.sample_rate} Hz")
                   if k < len(wavs) else gr.update(value=None, visible=False) for k in range(MAX_SAMPLE_PLAYERS)]
        status = (f"Done in {total:.1f} s \u00b7 {result.nfe} NFE \u00b7 seed {result.seed}"
                  + (" (random)" if kwargs["seed"] is None else "")
                  + (f" \u00b7 {len(result.warnings)} warning(s), see the table" if result.warnings else ""))
        return (*players, trajectory_fig, spectrogram_fig, rows, [*wavs, json_path], result.seed, status)

    def _run(self, fn, pipe: Pipeline, payload):
        """Run the GPU work; turn the ways it can fail into messages for the user."""
        try:
            return fn(pipe, payload)
        except Stopped:
            raise gr.Error("The generation was stopped.", title="Stopped", print_exception=False) from None
        except MaxNFEExceeded as err:
            raise field_error("max_nfe", f"{err}") from None
        except USER_ERRORS as err:
            raise _library_error(err) from None

    def _stats_rows(self, pipe: Pipeline, result: GenerationResult, kwargs: dict, adherence: bool) -> tp.List[list]:
        solver: SolverConfig = kwargs["solver"]
        w = kwargs["guidance"].weights()
        rows = [
            ["NFE (field evaluations)", str(result.nfe)],
            ["accepted steps", str(len(result.steps["times"]))],
            ["solver", _solver_label(solver) + f", NFE cap {solver.max_nfe}"],
            ["guidance", f"w_all {w['all']:g}, w_text {w['text']:g}, w_null {w['null']:g}"],
            ["seconds (pipeline)", f"{result.seconds:.2f}"],
            ["seconds: conditions / sampling / decoding",
             " / ".join(f"{result.timings.get(k, float('nan')):.2f}" for k in ("conditions", "sampling", "decoding"))],
            ["device", result.device],
            ["seed", str(result.seed)],
            ["model", pipe.name],
            ["audio", f"{len(result.audio)} \u00d7 {result.audio.shape[1] / result.sample_rate:.2f} s at {result.sample_rate} Hz"],
            ["warnings", "; ".join(result.warnings) if result.warnings else "none"],
        ]
        if adherence:
            rows.extend(self._adherence_rows(pipe, result, kwargs))
        return rows

    def _adherence_rows(self, pipe: Pipeline, result: GenerationResult, kwargs: dict) -> tp.List[list]:
        """Condition-adherence scores (0-1, higher is better) of each sample for each condition given."""
        try:
            from jasco_core import metrics
        except ImportError:
            return [["adherence scores", "not available in this version of jasco_core"]]
        checks = []
        chords = result.parameters.get("chords")
        if chords:
            checks.append(("chord accuracy", lambda a: metrics.chord_accuracy(a, result.sample_rate, chords,
                                                                               kwargs["duration"])))
        pitches = result.conditions.get("melody_pitches")
        if pitches is not None:
            checks.append(("melody agreement", lambda a: metrics.melody_agreement(
                a, result.sample_rate, np.asarray(pitches), pipe.bundle.frame_rate)))
        drums = result.conditions.get("drums")
        if drums is not None:
            checks.append(("drum onset F1", lambda a: metrics.drum_onset_f1(a, result.sample_rate, drums[0], drums[1])))
        rows = []
        for name, score in checks:
            values = []
            for audio in result.audio:
                try:
                    with warnings.catch_warnings():  # short clips make librosa warn about window sizes
                        warnings.simplefilter("ignore")
                        values.append(f"{score(audio):.2f}")
                except Exception as err:  # a metric failing must not lose the generated audio
                    logger.warning("%s failed: %s", name, err)
                    values.append("n/a")
            rows.append([name, ", ".join(values)])
        if not checks:
            rows.append(["adherence scores", "no chords, melody or drums given"])
        return rows

    # -- compare ------------------------------------------------------------------------------
    def parse_runs(self, runs, extra_runs, max_nfe: int) -> tp.List[tp.Tuple[str, SolverConfig]]:
        """Presets ticked on the page plus free-form runs ('rk4:8, bosh3:1e-4') -> labelled solver settings."""
        specs: tp.List[tp.Tuple[str, str, float]] = []
        for name in runs or []:
            if name not in COMPARE_PRESETS:
                raise field_error("runs", f"unknown preset {name!r}; expected some of {', '.join(COMPARE_PRESETS)}")
            specs.append((name, *COMPARE_PRESETS[name]))
        extra = _text_value("extra_runs", extra_runs)
        for token in [t for t in re.split(r"[,;\s]+", extra) if t]:
            match = re.fullmatch(r"([a-z_0-9]+)[:@]([0-9.eE+-]+)", token.strip().lower())
            form = ("'method:steps' for euler, midpoint, rk4 or 'method:tolerance' for dopri5, bosh3, adaptive_heun, "
                    "e.g. 'rk4:8, bosh3:1e-4'")
            if not match or match.group(1) not in METHODS:
                raise field_error("extra_runs", f"cannot read {token!r}; expected {form}")
            method, value = match.group(1), match.group(2)
            if method in FIXED_STEP_METHODS:
                steps = _number("extra_runs", value, f"a whole number of steps in {token!r}", 1, 1000, integer=True)
                specs.append((f"{method} {steps}", method, steps))
            else:
                tol = _number("extra_runs", value, f"a tolerance between 1e-8 and 0.1 in {token!r}", 1e-8, 0.1)
                specs.append((f"{method} {tol:.0e}", method, tol))
        out: tp.List[tp.Tuple[str, SolverConfig]] = []
        for label, method, value in specs:
            if method in FIXED_STEP_METHODS:
                cfg = SolverConfig(method=method, steps=int(value), max_nfe=max(max_nfe, int(value) * FIXED_STEP_METHODS[method]))
            else:
                cfg = SolverConfig(method=method, rtol=float(value), atol=float(value), max_nfe=max_nfe)
            if all(c != cfg for _, c in out):
                out.append((label, cfg))
        if not out:
            raise field_error("runs", "tick at least one preset or type runs such as 'euler:8, dopri5:1e-4'")
        if len(out) > MAX_COMPARE_RUNS:
            raise field_error("runs", f"at most {MAX_COMPARE_RUNS} runs at a time; {len(out)} were chosen")
        return out

    def compare(self, text: str = "", chords: str = "", drums=None, melody=None, duration: float = None,
                bpm: float = 120.0, meter: str = "4/4", w_all: float = None, w_text: float = None, seed: int = 0,
                runs: tp.Optional[tp.List[str]] = None, extra_runs: str = "", max_nfe: int = None,
                model: str = None, request: gr.Request = None, progress=gr.Progress()):
        """Run the same prompt, conditions and seed with several solvers, one after another.

        Returns one audio file per run (up to 8), a table (NFE, seconds, RMSE of the final
        latents against the tightest run), one figure with the trajectories and error against
        NFE, and a status line. `runs`: preset names (default: Euler 4/8/16, Midpoint 8,
        dopri5 1e-3 and 1e-5); `extra_runs`: e.g. 'rk4:8, bosh3:1e-4'.
        """
        started = time.perf_counter()
        d = self.defaults
        key = _session_key(request)
        self.cancel.clear(key)
        pipe = self._pipeline_for(model)
        common = self._common(pipe, text, chords, drums, melody, d.duration if duration is None else duration,
                              bpm, meter, seed, False)
        common["guidance"] = self._guidance(d.w_all if w_all is None else w_all, d.w_text if w_text is None else w_text,
                                            True, None)
        cap = _number("max_nfe", d.max_nfe if max_nfe is None else max_nfe, f"an integer from 1 to {MAX_NFE_LIMIT}",
                      1, MAX_NFE_LIMIT, integer=True)
        plan = self.parse_runs(DEFAULT_COMPARE_RUNS if runs is None else runs, extra_runs, cap)
        traces: tp.List[list] = []
        payload = []
        for i, (label, cfg) in enumerate(plan):
            trace: list = []
            traces.append(trace)
            payload.append(dict(common, solver=cfg, num_samples=1, trajectory=True, progress=self._progress(
                progress, key, cfg.end_time, trace, offset=i / len(plan), scale=1.0 / len(plan),
                prefix=f"run {i + 1}/{len(plan)} ({label}): ")))
        progress(0.0, desc=f"run 1/{len(plan)}")
        results = self._run(_run_comparison, pipe, payload)

        done = [(label, cfg, r) for (label, cfg), r in zip(plan, results) if isinstance(r, GenerationResult)]
        if not done:
            raise field_error("max_nfe", f"every run hit the NFE cap of {cap}; raise it or loosen the tolerances")
        reference = _tightest(done)
        z_ref = reference[2].latents.float()
        folder = self.outputs.new_dir()
        rows, traces_fig, players = [], [], []
        for (label, cfg), r in zip(plan, results):
            if not isinstance(r, GenerationResult):
                rows.append([label, _solver_label(cfg), f"> {cfg.max_nfe}", "", "", "stopped at the NFE cap"])
                continue
            rmse = float((r.latents.float() - z_ref).pow(2).mean().sqrt())
            is_ref = r is reference[2]
            rows.append([label, _solver_label(cfg), str(r.nfe), f"{r.timings['sampling']:.2f}",
                         "0 (reference)" if is_ref else f"{rmse:.2e}", "; ".join(r.warnings)])
            traces_fig.append(plots.RunTrace(label, cfg.method, r.trajectory.latents[:, 0].numpy(), r.nfe, rmse, is_ref))
            path = os.path.join(folder, f"compare_{len(players) + 1}_{re.sub(r'[^A-Za-z0-9]+', '_', label)}.wav")
            sf.write(path, r.audio[0], r.sample_rate, subtype="PCM_16")
            players.append(gr.update(value=path, visible=True, label=f"{label} \u00b7 {r.nfe} NFE \u00b7 {r.sample_rate} Hz"))
        players += [gr.update(value=None, visible=False)] * (MAX_COMPARE_RUNS - len(players))
        figure = plots.comparison_figure(traces_fig)
        total = time.perf_counter() - started
        status = (f"{len(done)} of {len(plan)} runs done in {total:.1f} s \u00b7 seed {done[0][2].seed} \u00b7 "
                  f"reference: {reference[0]}")
        return (*players, rows, figure, status)

    # -- live previews ------------------------------------------------------------------------
    # Each returns (plot update, note): the plot is shown only when there is something to draw, and
    # a value that cannot be read is explained in the note (no pop-up while the user is typing).
    def preview_chords(self, chords: str = "", duration: float = None, bpm: float = 120.0, meter: str = "4/4"):
        """Chord timeline as the model will read it, or the reason the text cannot be read."""
        chords = chords if isinstance(chords, str) else ""
        if not chords.strip():
            return _hidden(), ""
        b = self.pipeline.bundle
        try:
            duration = float(self.defaults.duration if duration is None else duration)
            parsed = C.parse_progression(chords, duration=duration, bpm=bpm, meter=meter, vocabulary=b.vocabulary)
        except (ConditionError, TypeError, ValueError) as err:
            return _hidden(), f"\u26a0\ufe0f {html.escape(str(err), quote=False)}"
        segments = [(s.label, s.start, s.end) for s in parsed.segments(duration)]
        note = "; ".join(parsed.warnings)
        summary = f"{len(segments)} chord(s) over {duration:g} s" + (f" \u00b7 \u26a0\ufe0f {html.escape(note, quote=False)}" if note else "")
        return _shown(plots.chord_timeline(segments, duration)), summary

    def preview_drums(self, drums=None, duration: float = None):
        """The drum stem as the model receives it, with the hits it will try to follow."""
        if drums is None:
            return _hidden(), ""
        duration = float(self.defaults.duration if duration is None else duration)
        try:
            clip = C.read_drums(_file_value("drums", drums), sample_rate=self.pipeline.sample_rate, duration=duration)
            onsets = C.onset_times(clip.samples, self.pipeline.sample_rate)
        except gr.Error as err:
            return _hidden(), f"\u26a0\ufe0f {err.message}"
        except ConditionError as err:
            return _hidden(), f"\u26a0\ufe0f {html.escape(str(err), quote=False)}"
        notes = "; ".join(getattr(clip, "warnings", ()) or ())
        return (_shown(plots.drums_preview(clip.samples, self.pipeline.sample_rate, onsets, duration)),
                f"{len(onsets)} hits in {duration:g} s" + (f" \u00b7 {html.escape(notes, quote=False)}" if notes else ""))

    def preview_melody(self, melody=None, duration: float = None):
        """Piano roll of the melody the model will follow (from audio, MIDI or a salience file)."""
        if melody is None:
            return _hidden(), ""
        duration = float(self.defaults.duration if duration is None else duration)
        rate = self.pipeline.bundle.frame_rate
        try:
            mel = C.load_melody(_file_value("melody", melody), int(round(duration * rate)), rate)
        except gr.Error as err:
            return _hidden(), f"\u26a0\ufe0f {err.message}"
        except ConditionError as err:
            return _hidden(), f"\u26a0\ufe0f {html.escape(str(err), quote=False)}"
        notes = "; ".join(mel.warnings)
        return (_shown(plots.piano_roll(mel.pitches, rate, duration)),
                f"{100 * float(np.mean(mel.pitches >= 0)):.0f}% of frames voiced"
                + (f" \u00b7 {html.escape(notes, quote=False)}" if notes else ""))

    # -- small UI helpers ---------------------------------------------------------------------
    @staticmethod
    def null_weight(w_all: float = 0.0, w_text: float = 0.0, null_auto: bool = True):
        """'null = 1 - all - text' ticked: show that value and lock the w_null slider."""
        if null_auto:
            try:
                return gr.update(value=round(1.0 - float(w_all) - float(w_text), 4), interactive=False)
            except (TypeError, ValueError):
                return gr.update(interactive=False)
        return gr.update(interactive=True)

    @staticmethod
    def solver_controls(solver: str = "euler"):
        """Show `steps` for fixed-step methods and `rtol`/`atol` for adaptive ones."""
        fixed = solver in FIXED_STEP_METHODS
        return gr.update(visible=fixed), gr.update(visible=not fixed), gr.update(visible=not fixed)

    @staticmethod
    def copy_settings(*values):
        """'Use the Generate tab's settings' on the Compare tab: values pass through unchanged."""
        return values


GENERATE_PARAMS = _handler_params(DemoHandlers.generate)
COMPARE_PARAMS = _handler_params(DemoHandlers.compare)


def _shown(figure) -> dict:
    return gr.update(value=figure, visible=True)


def _hidden() -> dict:
    return gr.update(value=None, visible=False)


def _tightest(done):
    """The reference run: the adaptive run with the smallest tolerance, else the one with most NFE."""
    adaptive = [x for x in done if not x[1].is_fixed_step]
    if adaptive:
        return min(adaptive, key=lambda x: (max(x[1].rtol, x[1].atol), -x[2].nfe))
    return max(done, key=lambda x: (x[2].nfe, FIXED_STEP_METHODS[x[1].method]))


def _name(value) -> tp.Optional[str]:
    if value is None:
        return None
    if isinstance(value, str):
        return os.path.basename(value)
    return "<recorded audio>"


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
