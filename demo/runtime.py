"""How the demo runs the model: Stop flags, progress bars, ZeroGPU, and the warm-up at start.

- `CancelFlags`, `page_errors` (from `demo.runs`, re-exported): Stop flags per browser session;
  `SolveProgress` checks them at every field evaluation and raises `Stopped`, so Stop interrupts
  a solve already running (Gradio's own cancel only stops waiting for it).
- `SolveProgress`: the solver's `progress(t, nfe, window=...)` -> the page's `gr.Progress`, with
  the real t, NFE and window of a long clip; it also records them for the trajectory figure and
  tells the Stop button where the solve is.
- `DownloadProgress`: `load_pipeline`'s `progress(done_bytes, total_bytes, what)` -> the page's
  bar, with the rate and the time left; "loading weights" once the bytes are in.
- `ModelRef`: a loaded pipeline as the GPU functions receive it (see below); `load_model` loads
  one where ZeroGPU expects it.
- `run_generation` / `run_comparison` / `run_edit`: the GPU work of one request, wrapped by `spaces.GPU` on
  ZeroGPU Spaces (where a GPU exists only inside such functions) with a duration computed per
  request (`demo.gpu_budget`), and run as is elsewhere. `generate` / `compare` / `edit` call them and
  record how long the work took, which sizes the next request.
- `warm_up`: what the first request would otherwise wait for, done once at start;
  `warm_up_in_background` does it in a thread once the page is served, and the model's requests
  wait for it (`ModelRef.ready`).

ZeroGPU runs a GPU function in a forked worker and sends it its arguments pickled, so these take
only what pickles: a `ModelRef` travels as its name, device and precision, and the worker finds
the pipeline in the `load_pipeline` cache it inherited (or loads it from the disk cache); the
progress objects travel with a snapshot of the Stop flags (Stop reaches a solve only where the
work runs in this process; on ZeroGPU it cancels the wait), and the (t, NFE, window) trace comes back
with the result.
"""
from __future__ import annotations

import contextvars
import logging
import threading
import time
import typing as tp
import warnings

import numpy as np

try:  # ZeroGPU Spaces: the GPU is attached only inside functions wrapped by `spaces.GPU`; it must be
    import spaces  # type: ignore  # imported before anything initialises CUDA
except ImportError:  # a CPU machine or a plain GPU: run as is
    spaces = None

from jasco_core.compare import Comparison, compare_solvers
from jasco_core.guidance import Guidance
from jasco_core.pipeline import GenerationResult, Pipeline, load_pipeline
from jasco_core.solvers import SolverConfig

from . import gpu_budget
from .runs import CancelFlags, Stopped, StopCheck, page_errors, stopped_error  # noqa: F401 (re-exported)

logger = logging.getLogger(__name__)


def zero_gpu() -> bool:
    """Whether this process runs on ZeroGPU (`spaces` imports and says so)."""
    config = getattr(getattr(spaces, "config", None), "Config", None)
    return bool(spaces is not None and getattr(config, "zero_gpu", False))


def model_device() -> tp.Optional[str]:
    """Where models go: 'cuda' on ZeroGPU (placed there at load, outside GPU functions, as ZeroGPU
    expects), else the library's choice (CUDA when available, else the CPU)."""
    return "cuda" if zero_gpu() else None


def load_model(name: str, progress: tp.Optional[tp.Callable[[int, int, str], None]] = None) -> Pipeline:
    """The page's loader: `load_pipeline` on `model_device()`, downloads reported to `progress`."""
    return load_pipeline(name, device=model_device(), progress=progress)


class SolveProgress:
    """The solver's `progress(t, nfe, window=(index, count))` for one solve, on the page's bar.

    The bar goes from `offset` to `offset + scale` over the whole job (a comparison gives each run
    its share): a clip longer than the model's window is solved window after window, each window's
    t from 0 to `end_time`, and each window counts for an equal share. The text says 'window i of n
    · NFE n · t = …' (without the window part for a single window). `trace` keeps (t, NFE of the
    job, window index) of every report. Raises `Stopped` once `stopped()` is true: at any field
    evaluation, and at the start of each window.
    """

    def __init__(self, progress: tp.Callable, stopped: tp.Callable[[], bool], end_time: float, *,
                 offset: float = 0.0, scale: float = 1.0, prefix: str = ""):
        self.progress, self.stopped, self.end_time = progress, stopped, float(end_time)
        self.offset, self.scale, self.prefix = offset, scale, prefix
        self.trace: tp.List[tp.Tuple[float, int, int]] = []
        self._t, self._window = 0.0, 0

    def __call__(self, t: float, nfe: int, window: tp.Optional[tp.Tuple[int, int]] = None) -> None:
        if self.stopped():
            raise Stopped()
        index, count = window if window is not None else (0, 1)
        if index != self._window:  # a new window: its t starts again from 0
            self._t, self._window = 0.0, index
        self.trace.append((float(t), int(nfe), int(index)))
        self._t = max(self._t, float(t))
        fraction = min(self._t / self.end_time, 1.0) if self.end_time > 0 else 1.0
        where = f"window {index + 1} of {count} \u00b7 " if count > 1 else ""
        if hasattr(self.stopped, "at"):  # for the Stop button's 'Stopped at NFE n, t = …'
            self.stopped.at(f"{self.prefix}{where}NFE {nfe}, t = {self._t:.3f}".replace(" \u00b7 ", ", ")
                            .replace("): ", "), "))
        self.progress(self.offset + self.scale * (index + fraction) / max(count, 1),
                      desc=f"{self.prefix}{where}NFE {nfe} \u00b7 t = {self._t:.3f}")


def format_bytes(n: float) -> str:
    """'950 kB', '3.2 MB', '1.40 GB'."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}" if unit == "GB" else f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def format_seconds(seconds: float) -> str:
    """'<1 s', '8 s', '2 min 05 s', '1 h 03 min'."""
    if seconds < 1:
        return "<1 s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class DownloadProgress:
    """`load_pipeline`'s `progress(done_bytes, total_bytes, what)` on the page's bar.

    Shows 'downloading REPO: 1.2 MB of 3.4 MB · 2.0 MB/s · 1 s left' (the rate since this download
    began; each repository is its own download) and 'NAME: loading weights' once its bytes are
    in; `loading()` shows that before anything is reported (a cached model downloads nothing).
    Updates at most every `every` seconds, except a download's last one. `shown` keeps each text.

    huggingface_hub reports from its download threads, where Gradio's request context (which
    `gr.Progress` needs) is missing: the context of the thread that made this object is used, one
    report at a time.
    """

    def __init__(self, progress: tp.Callable, name: str, *, every: float = 0.2,
                 clock: tp.Callable[[], float] = time.monotonic):
        self.progress, self.name, self.every, self.clock = progress, name, every, clock
        self.shown: tp.List[str] = []
        self._context = contextvars.copy_context()
        self._lock = threading.Lock()
        self._what: tp.Optional[str] = None
        self._began = self._last = 0.0
        self._first = 0

    def _show(self, fraction: tp.Optional[float], text: str) -> None:
        self.shown.append(text)
        self._context.run(self.progress, fraction, desc=text)

    def loading(self) -> None:
        with self._lock:  # the page shows a text only with a fraction; nothing is downloaded yet
            self._show(0.0, f"{self.name}: loading weights")

    def __call__(self, done: int, total: int, what: str) -> None:
        with self._lock:
            self._report(done, total, what)

    def _report(self, done: int, total: int, what: str) -> None:
        now = self.clock()
        if what != self._what:  # a new download: its rate is measured from here
            self._what, self._began, self._first, self._last = what, now, done, -float("inf")
        if done >= total:
            self._show(1.0, f"{self.name}: loading weights")
            return
        if now - self._last < self.every:
            return
        self._last = now
        elapsed = now - self._began
        rate = (done - self._first) / elapsed if elapsed > 0 and done > self._first else 0.0
        speed = f" · {format_bytes(rate)}/s · {format_seconds((total - done) / rate)} left" if rate else ""
        self._show(done / total if total else None,
                   f"{what}: {format_bytes(done)} of {format_bytes(total)}{speed}")


class ModelRef:
    """A loaded pipeline as the GPU functions receive it, with the `SpeedLog` that sizes its GPU
    requests. Pickled (ZeroGPU's worker), it keeps its name, device and precision and finds its
    pipeline again with `load_pipeline` (the worker inherited that cache; else it loads from disk)."""

    def __init__(self, name: str, pipeline: Pipeline, speed: tp.Optional[gpu_budget.SpeedLog] = None):
        self.name, self.pipeline = name, pipeline
        self.ready = threading.Event()  # cleared while a warm-up runs: requests wait for it
        self.ready.set()
        self.device, self.precision = str(pipeline.device), pipeline.precision
        self.speed = speed or gpu_budget.SpeedLog(
            parameters=sum(p.numel() for p in pipeline.model.parameters()), frame_rate=float(pipeline.frame_rate),
            window_frames=int(pipeline.window_frames), context_frames=int(pipeline.context_frames))

    def __getstate__(self):
        return {"name": self.name, "device": self.device, "precision": self.precision, "speed": self.speed}

    def __setstate__(self, state):
        self.__dict__.update(state, pipeline=None, ready=threading.Event())
        self.ready.set()

    def wait_ready(self) -> None:
        """Wait for a warm-up in progress (a request arriving during it runs once it is over)."""
        if not self.ready.is_set():
            logger.info("a request waits for the warm-up of %s", self.name)
            self.ready.wait()

    def get(self) -> Pipeline:
        if self.pipeline is None:
            self.pipeline = load_pipeline(self.name, device=self.device, precision=self.precision)
        return self.pipeline


def on_gpu(duration: tp.Callable[..., int]):
    """Wrap a function for ZeroGPU (`spaces.GPU(duration=duration)`; `duration` is called with the
    function's own arguments) when `spaces` imports; else leave it as it is."""
    def wrap(fn):
        return spaces.GPU(duration=duration)(fn) if spaces is not None else fn
    return wrap


Trace = tp.List[tp.Tuple[float, int, int]]  # (t, NFE of the job, window index) of every progress report


@on_gpu(gpu_budget.generation_seconds)
def run_generation(model: ModelRef, kwargs: dict) -> tp.Tuple[GenerationResult, Trace]:
    """The GPU work of one generation: its result and the trace of `kwargs['progress']`."""
    result = model.get().generate(**kwargs)
    return result, list(getattr(kwargs.get("progress"), "trace", []))


EDITS = ("repaint", "extend")


@on_gpu(gpu_budget.edit_seconds)
def run_edit(model: ModelRef, kind: str, kwargs: dict) -> tp.Tuple[GenerationResult, Trace]:
    """The GPU work of one edit (`kind`: 'repaint' or 'extend', `Pipeline`'s method of that name)."""
    if kind not in EDITS:
        raise ValueError(f"unknown edit {kind!r}")
    result = getattr(model.get(), kind)(**kwargs)
    return result, list(getattr(kwargs.get("progress"), "trace", []))


@on_gpu(gpu_budget.comparison_seconds)
def run_comparison(model: ModelRef, solvers: tp.Sequence[SolverConfig], request: dict,
                   reporters: tp.Sequence[SolveProgress]) -> Comparison:
    """All solver runs of a comparison in one GPU allocation; run i reports to `reporters[i]`."""
    return compare_solvers(model.get(), solvers, progress=lambda i, t, nfe, window=None: reporters[i](t, nfe, window),
                           **request)


def _record(model: ModelRef, result: GenerationResult, solver, request: tp.Mapping[str, tp.Any]) -> None:
    defaults = model.pipeline.defaults
    terms = len(Guidance.coerce(request.get("guidance"), defaults.guidance).active_terms())
    kind = (request.get("drums") is not None, request.get("melody") is not None)
    model.speed.record(result, SolverConfig.coerce(solver, defaults.solver), result.audio.shape[0] * terms, kind)


def generate(model: ModelRef, kwargs: dict) -> tp.Tuple[GenerationResult, Trace]:
    """`run_generation`, then what it took is recorded in `model.speed`."""
    model.wait_ready()
    result, trace = run_generation(model, kwargs)
    _record(model, result, kwargs.get("solver"), kwargs)
    return result, trace


def edit(model: ModelRef, kind: str, kwargs: dict) -> tp.Tuple[GenerationResult, Trace]:
    """`run_edit`, then what it took is recorded in `model.speed`."""
    model.wait_ready()
    result, trace = run_edit(model, kind, kwargs)
    _record(model, result, kwargs.get("solver"), kwargs)
    return result, trace


def compare(model: ModelRef, solvers: tp.Sequence[SolverConfig], request: dict,
            reporters: tp.Sequence[SolveProgress]) -> Comparison:
    """`run_comparison`, then what each finished run took is recorded in `model.speed`."""
    model.wait_ready()
    comparison = run_comparison(model, solvers, request, reporters)
    for run in comparison.runs:
        if run.result is not None:
            _record(model, run.result, run.solver, request)
    return comparison


def warm_up(pipe: Pipeline, speed: tp.Optional[gpu_budget.SpeedLog] = None) -> None:
    """Do once, at start, what the first request would otherwise wait for: load the text encoder,
    prepare the codec's decoding matrices (a 1-step generation of a 1 s clip) and run the audio
    analyses of the previews and adherence scores once. With `speed`, a second solve (2 steps of
    the model's default clip) measures the seconds per NFE for the cost shown before the first
    run. A failure only costs time later."""
    started = time.perf_counter()
    # on ZeroGPU a GPU exists only inside `spaces.GPU` functions: no warm-up solve there
    if not zero_gpu():
        try:
            pipe.generate("warm up", duration=min(1.0, pipe.max_duration), seed=0, solver=SolverConfig("euler", steps=1))
            if speed is not None:
                solver = SolverConfig("euler", steps=2)
                result = pipe.generate("warm up", seed=0, solver=solver)
                rows = len(pipe.defaults.guidance.active_terms())
                speed.per_nfe.append((result.timings["sampling"] / result.nfe, rows * speed.windows(
                    int(result.latents.shape[1]))[1]))
        except Exception as err:  # noqa: BLE001
            logger.warning("warm-up generation failed: %s", err)
    try:  # the first CQT / onset analysis compiles and caches filters: do it on a second of noise
        from jasco_core import metrics
        noise = np.random.default_rng(0).standard_normal(pipe.sample_rate).astype(np.float32) * 0.1
        with warnings.catch_warnings():  # a second of audio makes librosa warn about window sizes
            warnings.simplefilter("ignore")
            metrics.chord_accuracy(noise, pipe.sample_rate, [("C", 0.0)], 1.0)
            metrics.onset_times(noise, pipe.sample_rate)
    except Exception as err:  # noqa: BLE001
        logger.info("adherence metrics not warmed up: %s", err)
    logger.info("warm-up done in %.1f s", time.perf_counter() - started)


def warm_up_in_background(model: ModelRef) -> threading.Thread:
    """`warm_up` in a daemon thread (the page already serves); the model's requests wait until it
    is over (`ModelRef.wait_ready`). Returns the thread."""
    model.ready.clear()

    def work():
        try:
            logger.info("warm-up of %s started", model.name)
            warm_up(model.pipeline, model.speed)
        finally:
            model.ready.set()

    thread = threading.Thread(target=work, name="jasco-warm-up", daemon=True)
    thread.start()
    return thread
