"""How the demo runs the model: Stop flags, the progress bar, ZeroGPU, and the warm-up at start.

- `CancelFlags`: a Stop request per browser session; `SolveProgress` checks it at every field
  evaluation and raises `Stopped`, so Stop interrupts a solve already running (Gradio's own
  cancel only stops waiting for it).
- `SolveProgress`: the solver's `progress(t, nfe)` -> the page's `gr.Progress`, with the real t
  and NFE; it also records (t, NFE) for the trajectory figure.
- `run_generation` / `run_comparison`: the GPU work of one request, wrapped by `spaces.GPU` on
  ZeroGPU Spaces (where a GPU exists only inside such functions) and run as is elsewhere.
- `warm_up`: what the first request would otherwise wait for, done once at start.
"""
from __future__ import annotations

import logging
import threading
import time
import typing as tp
import warnings

import gradio as gr
import numpy as np

from jasco_core.compare import Comparison, compare_solvers
from jasco_core.pipeline import GenerationResult, Pipeline
from jasco_core.solvers import SolverConfig

logger = logging.getLogger(__name__)

GPU_SECONDS = 120           # ZeroGPU allocation per request

try:  # ZeroGPU Spaces: the GPU is attached only inside functions wrapped by `spaces.GPU`
    import spaces  # type: ignore
except ImportError:  # a CPU machine or a plain GPU: run as is
    spaces = None


class Stopped(Exception):
    """Raised inside the solver's progress callback when the user pressed Stop."""


def stopped_error() -> gr.Error:
    return gr.Error("The generation was stopped.", title="Stopped", print_exception=False)


class CancelFlags:
    """Stop requests per browser session (thread-safe)."""

    def __init__(self):
        self._flags: tp.Dict[str, bool] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(request: tp.Optional[gr.Request]) -> str:
        return getattr(request, "session_hash", None) or "local"

    def set(self, key: str) -> None:
        with self._lock:
            self._flags[key] = True

    def clear(self, key: str) -> None:
        with self._lock:
            self._flags.pop(key, None)

    def is_set(self, key: str) -> bool:
        with self._lock:
            return self._flags.get(key, False)

    def start(self, request: tp.Optional[gr.Request]) -> tp.Callable[[], bool]:
        """A new request of this session: clear its flag; returns 'has Stop been pressed since?'."""
        key = self.key(request)
        self.clear(key)
        return lambda: self.is_set(key)


class SolveProgress:
    """The solver's `progress(t, nfe)` for one solve, shown on the page's progress bar.

    The bar goes from `offset` to `offset + scale` as t goes to `end_time` (a comparison gives each
    run its share); `trace` keeps every (t, NFE). Raises `Stopped` once `stopped()` is true.
    """

    def __init__(self, progress: tp.Callable, stopped: tp.Callable[[], bool], end_time: float, *,
                 offset: float = 0.0, scale: float = 1.0, prefix: str = ""):
        self.progress, self.stopped, self.end_time = progress, stopped, float(end_time)
        self.offset, self.scale, self.prefix = offset, scale, prefix
        self.trace: tp.List[tp.Tuple[float, int]] = []
        self._t = 0.0

    def __call__(self, t: float, nfe: int) -> None:
        if self.stopped():
            raise Stopped()
        self.trace.append((float(t), int(nfe)))
        self._t = max(self._t, float(t))
        fraction = min(self._t / self.end_time, 1.0) if self.end_time > 0 else 1.0
        self.progress(self.offset + self.scale * fraction, desc=f"{self.prefix}NFE {nfe} \u00b7 t = {self._t:.3f}")


def on_gpu(fn):
    """`fn` wrapped for ZeroGPU when `spaces` imports, else `fn` itself."""
    return spaces.GPU(duration=GPU_SECONDS)(fn) if spaces is not None else fn


@on_gpu
def run_generation(pipe: Pipeline, kwargs: dict) -> GenerationResult:
    """The GPU work of one generation."""
    return pipe.generate(**kwargs)


@on_gpu
def run_comparison(pipe: Pipeline, solvers: tp.Sequence[SolverConfig], request: dict,
                   reporters: tp.Sequence[SolveProgress]) -> Comparison:
    """All solver runs of a comparison in one GPU allocation; run i reports to `reporters[i]`."""
    return compare_solvers(pipe, solvers, progress=lambda i, t, nfe: reporters[i](t, nfe), **request)


def warm_up(pipe: Pipeline) -> None:
    """Do once, at start, what the first request would otherwise wait for: load the text encoder,
    prepare the codec's decoding matrices (one 1-step generation of a 1 s clip) and run the audio
    analyses of the previews and adherence scores once. A failure only costs time later."""
    started = time.perf_counter()
    # on ZeroGPU a GPU exists only inside `spaces.GPU` functions: no warm-up solve there
    if spaces is None or pipe.device.type == "cpu":
        try:
            pipe.generate("warm up", duration=min(1.0, pipe.max_duration), seed=0, solver=SolverConfig("euler", steps=1))
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
    logger.info("warm-up took %.1f s", time.perf_counter() - started)
