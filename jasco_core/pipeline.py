"""`Pipeline`: user inputs -> condition tensors -> guided field -> ODE solve -> audio.

    pipe = load_pipeline("embedded")
    result = pipe.generate("mellow jazz piano with brushed drums", chords="C:0 Am:2.5 F:5 G:7.5", seed=0)

The pipeline wires the parts and owns no maths: `conditions` parses and validates the inputs,
the bundle's encoders turn them into condition inputs, `guidance` batches the terms, `solvers`
integrates, the bundle's codec decodes. Everything that does not depend on (z, t) is computed once.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import random
import threading
import time
import typing as tp

import numpy as np
import torch

from .checkpoints.bundle import GenerationDefaults, ModelBundle
from .conditions.encode import ConditionTimeline, EncodedConditions, encode_conditions, read_conditions
from .errors import FieldError, check_bool, check_integer, check_number, check_text, describe_value
from .editing import EditError, encode_audio, extension_known, read_edit_audio, region_known, splice
from .guidance import Guidance, build_guided_field
from .longform import WindowResult, slice_inputs, solve_windows, window_progress
from .solvers import Progress, SolverConfig, Trajectory, integrate

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 1000
MAX_SAMPLES = 8
MIN_DURATION = 0.5
MAX_LONG_SECONDS = 300.0      # the longest clip, in windows of the model's length
CONTEXT_FRACTION = 0.12       # of each further window, the part given from what precedes it
CROSSFADE_FRACTION = 0.04     # of each window, the end generated again by the next one and crossfaded
BPM_RANGE = (20.0, 400.0)
MAX_SEED = 2**63 - 1
PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def precision_context(device: torch.device, precision: str):
    """Mixed precision for sampling: matrix products in bf16/fp16, norms, softmax and the residual
    stream in fp32 (autocast). More accurate than casting the whole model, and as fast: with the
    weights marked `requires_grad` autocast casts each weight once per solve, not once per call."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=PRECISIONS[precision])


class GenerationError(FieldError):
    """A generation argument is invalid; `field` names it."""


@dataclasses.dataclass
class GenerationResult:
    audio: np.ndarray                  # float32 [num_samples, n]
    sample_rate: int
    latents: torch.Tensor              # [B, T, D] on the CPU
    nfe: int
    seconds: float                     # wall time of the whole request
    steps: tp.Dict[str, tp.List[float]]  # accepted step "times" and "sizes"
    trajectory: tp.Optional[Trajectory]
    warnings: tp.List[str]
    seed: int
    device: str
    timings: tp.Dict[str, float]       # seconds per stage: conditions, sampling, decoding
    parameters: tp.Dict[str, tp.Any]   # everything needed to reproduce this result
    previews: ConditionTimeline        # the conditions as the model followed them (chords, melody, drums)
    windows: tp.List[WindowResult] = dataclasses.field(default_factory=list)  # one per solved window

    @property
    def conditions(self) -> tp.Dict[str, tp.Any]:
        """The former dict form of `previews` (kept for one release)."""
        return self.previews.as_dict()


class Pipeline:
    """A loaded model bundle on a device, ready to generate; `load_pipeline` makes (and caches) one."""

    def __init__(self, bundle: ModelBundle, device: tp.Union[str, torch.device, None] = None,
                 precision: str = "fp32"):
        if not isinstance(precision, str) or precision not in PRECISIONS:
            raise GenerationError("precision", f"expected one of {', '.join(PRECISIONS)}, got {describe_value(precision)}")
        self.device = _check_device(device)
        if precision == "fp16" and self.device.type != "cuda":
            raise GenerationError("precision", "fp16 needs a CUDA device; use bf16 or fp32 on the CPU")
        self.bundle = bundle
        self.precision = precision
        self.model = bundle.model.to(self.device).eval()
        # autocast caches its weight casts only for leaves that require grad (no graph is built:
        # sampling runs under inference_mode)
        self.model.requires_grad_(precision != "fp32")
        self._lock = threading.Lock()  # one solve at a time per model (CPU threads are shared anyway)

    # -- what the model is (the page's defaults and limits come from here) --------------------------
    @property
    def name(self) -> str:
        return self.bundle.name

    @property
    def sample_rate(self) -> int:
        return self.bundle.sample_rate

    @property
    def frame_rate(self) -> float:
        return self.bundle.frame_rate

    @property
    def max_duration(self) -> float:
        """The longest clip `generate` makes (seconds): windows of the model's length beyond it."""
        return MAX_LONG_SECONDS

    @property
    def min_duration(self) -> float:
        """The shortest clip `generate` makes, and the shortest extension (seconds)."""
        return MIN_DURATION

    @property
    def window_seconds(self) -> float:
        """The model's native window: the clip length it was trained on (10 s for JASCO)."""
        return float(self.bundle.max_duration)

    @property
    def window_frames(self) -> int:
        return int(round(self.window_seconds * self.frame_rate))

    @property
    def crossfade_frames(self) -> int:
        """Frames at the end of a window that the next one generates again, blended across the join."""
        return int(round(self.window_frames * CROSSFADE_FRACTION))

    @property
    def context_frames(self) -> int:
        """Frames of a window given from what precedes it (`CONTEXT_FRACTION` of the window)."""
        return int(round(self.window_frames * CONTEXT_FRACTION))

    @property
    def accepts(self) -> tp.Tuple[str, ...]:
        """Conditions the model takes: 'text' and any of 'chords', 'drums', 'melody'."""
        return self.bundle.accepts

    @property
    def presets(self) -> tp.Dict[str, SolverConfig]:
        """Solver settings by name (`solvers.PRESETS`; "fast" is this model's fitted solver when it has one)."""
        return self.bundle.presets

    @property
    def defaults(self) -> GenerationDefaults:
        """The model's measured defaults: guidance, solver, duration."""
        return self.bundle.defaults

    # -- conditions -------------------------------------------------------------------------------
    def read_conditions(self, chords=None, drums=None, melody=None, *, duration: tp.Optional[float] = None,
                        bpm: float = 120.0, meter: str = "4/4") -> ConditionTimeline:
        """Check and read the chords, drums and melody as the model will follow them (for previews):
        chord segments, melody pitches, the drum clip and the hits the model is shown."""
        duration = self._duration(duration)
        bpm = check_number("bpm", bpm, *BPM_RANGE, expected="a tempo from 20 to 400 beats per minute, e.g. 120",
                           error=GenerationError)
        meter = check_text("meter", meter, allow_none=False, error=GenerationError)
        return read_conditions(self.bundle, chords, drums, melody, duration=duration, bpm=bpm, meter=meter)

    def prepare_conditions(self, text: str, chords=None, drums=None, melody=None, *, duration: float,
                           num_samples: int = 1, bpm: float = 120.0, meter: str = "4/4") -> EncodedConditions:
        """Validate and encode every condition once for a request (batch `num_samples`)."""
        timeline = self.read_conditions(chords, drums, melody, duration=duration, bpm=bpm, meter=meter)
        return encode_conditions(self.bundle, _check_text(text), timeline, num_samples, self.device)

    # -- generation -------------------------------------------------------------------------------
    def generate(self, text: str = "", chords=None, drums=None, melody=None, guidance: tp.Optional[Guidance] = None,
                 solver: tp.Optional[SolverConfig] = None, seed: tp.Optional[int] = None, num_samples: int = 1,
                 trajectory: bool = False, progress: tp.Optional[Progress] = None,
                 duration: tp.Optional[float] = None, bpm: float = 120.0, meter: str = "4/4") -> GenerationResult:
        """Generate `num_samples` clips of `duration` seconds (default: the model's).

        Args:
            text: the prompt ('' for none), at most 1000 characters.
            chords: text such as 'C:0 Am:2.5 F:5 G:7.5' or '| C | Am |', or [(label, start), ...].
            drums: a drum recording: a path, or (waveform, sample_rate); looped when shorter than a
                clip longer than the model's window.
            melody: a path (audio, MIDI, .npy/.pt salience), a [53, T] salience matrix, or pitches.
            guidance: `Guidance`, a dict of its weights, or None (the model's default).
            solver: `SolverConfig`, a dict of its fields, text such as 'rk4:8' or 'dopri5:1e-4', or None.
                'fast' is the model's fitted solver: of those fitted, the one fitted nearest `guidance`.
            seed: a non-negative integer, or None to draw one (reported in the result).
            num_samples: 1 to 8 clips, generated as one batch.
            trajectory: also return z_t at every accepted solver step (of every window).
            progress: `progress(t, nfe)`, called at every field evaluation (`nfe` counts the whole
                job); a function that also takes `window=` gets `(index, count)` of the window.
            duration: seconds, up to `max_duration` (300); beyond the model's window
                (`window_seconds`, 10 s) the clip is generated as overlapping windows.
            bpm, meter: the tempo of bar notation in `chords`.

        Every wrong argument raises a `FieldError` subclass naming it and the expected form.
        """
        request = self._request(text, guidance, solver, seed, num_samples, trajectory, progress, duration, bpm, meter)
        return self._run(request, chords, drums, melody)

    def repaint(self, audio, start: float, end: float, text: str = "", chords=None, drums=None, melody=None,
                guidance: tp.Optional[Guidance] = None, solver: tp.Optional[SolverConfig] = None,
                seed: tp.Optional[int] = None, num_samples: int = 1, trajectory: bool = False,
                progress: tp.Optional[Progress] = None, bpm: float = 120.0, meter: str = "4/4") -> GenerationResult:
        """Regenerate `[start, end)` seconds of `audio` (a path or `(waveform, sample_rate)`) and keep
        the rest: the result has the input's length at the model's sample rate; outside the region it
        is the input, joined by short crossfades. Condition times count from the start of the clip."""
        samples = read_edit_audio(audio, self.sample_rate, self.max_duration)
        seconds = samples.size / self.sample_rate
        frames = self.bundle.codec.frames_for(seconds)
        known = region_known(frames, self.frame_rate, seconds, start, end)
        request = self._request(text, guidance, solver, seed, num_samples, trajectory, progress,
                                frames / self.frame_rate, bpm, meter)
        result = self._run(request, chords, drums, melody, known=known, source=samples)
        result.audio = splice(samples, result.audio[:, :samples.size], self.sample_rate, float(start), float(end))
        result.parameters.update(edit="repaint", start=float(start), end=float(end))
        return result

    def extend(self, audio, seconds: float, text: str = "", chords=None, drums=None, melody=None,
               guidance: tp.Optional[Guidance] = None, solver: tp.Optional[SolverConfig] = None,
               seed: tp.Optional[int] = None, num_samples: int = 1, trajectory: bool = False,
               progress: tp.Optional[Progress] = None, bpm: float = 120.0, meter: str = "4/4") -> GenerationResult:
        """`audio` followed by `seconds` of new music that continues it. Condition times count from the
        start of the returned clip (the input's start)."""
        samples = read_edit_audio(audio, self.sample_rate, self.max_duration - MIN_DURATION)
        given = samples.size / self.sample_rate
        room = self.max_duration - given
        seconds = check_number("seconds", seconds, MIN_DURATION, room, error=EditError,
                               expected=f"seconds from {MIN_DURATION:g} to {room:.1f} (the result is at most "
                                        f"{self.max_duration:g} s)")
        codec = self.bundle.codec
        kept = min(codec.frames_for(given), int(given * self.frame_rate))   # frames wholly inside the input
        total = given + seconds
        frames = codec.frames_for(total)
        known = extension_known(kept, frames - kept)
        request = self._request(text, guidance, solver, seed, num_samples, trajectory, progress,
                                frames / self.frame_rate, bpm, meter)
        result = self._run(request, chords, drums, melody, known=known, source=samples)
        result.audio = splice(samples, result.audio[:, :int(round(total * self.sample_rate))], self.sample_rate,
                              kept / self.frame_rate, total)
        result.parameters.update(edit="extend", seconds=float(seconds), input_seconds=round(given, 4))
        return result

    # -- the work of one request ------------------------------------------------------------------
    def _request(self, text, guidance, solver, seed, num_samples, trajectory, progress, duration, bpm, meter) -> dict:
        """The arguments every request shares, checked (each wrong one raises a `FieldError`)."""
        b = self.bundle
        if seed is None:
            seed = random.SystemRandom().randrange(2**31)
        if progress is not None and not callable(progress):
            raise GenerationError("progress", f"expected a function progress(t, nfe) or None, got {describe_value(progress)}")
        guidance = Guidance.coerce(guidance, b.defaults.guidance)
        return dict(
            text=_check_text(text), guidance=guidance,
            solver=b.solver_for(SolverConfig.coerce(solver, b.defaults.solver, b.presets), guidance),
            duration=self._duration(duration),
            num_samples=check_integer("num_samples", num_samples, 1, MAX_SAMPLES, error=GenerationError),
            seed=check_integer("seed", seed, 0, MAX_SEED, expected="a whole number >= 0, or None for a random seed",
                               error=GenerationError),
            trajectory=check_bool("trajectory", trajectory, error=GenerationError), progress=progress, bpm=bpm,
            meter=meter)

    def _run(self, r: dict, chords, drums, melody, known: tp.Optional[np.ndarray] = None,
             source: tp.Optional[np.ndarray] = None) -> GenerationResult:
        """Conditions -> guided field -> solve (one window, or windows with known frames) -> audio."""
        started = time.perf_counter()
        b, batch, solver = self.bundle, r["num_samples"], r["solver"]
        with self._lock, torch.inference_mode():
            t0 = time.perf_counter()
            prepared = self.prepare_conditions(r["text"], chords, drums, melody, duration=r["duration"],
                                               num_samples=batch, bpm=r["bpm"], meter=r["meter"])
            frames = prepared.frames if known is None else len(known)
            window = self.window_frames
            t1 = time.perf_counter()
            z0 = self.initial_noise(r["seed"], batch, frames)
            with precision_context(self.device, self.precision):
                if known is None and frames <= window:     # one window: the original sampler, exactly
                    field = build_guided_field(self.model, prepared.inputs, r["guidance"], batch, frames)
                    solved = integrate(field, z0, solver, record_steps=r["trajectory"], progress=r["progress"])
                    z1, windows = solved.z1.float(), [WindowResult(0, frames, 0, solved.nfe, 0.0, solved.step_times,
                                                                   solved.step_sizes, solved.trajectory)]
                else:
                    x_known = None if source is None else encode_audio(b.codec, source, frames).to(self.device)
                    inputs = prepared.inputs

                    def make_field(start: int, end: int):
                        return build_guided_field(self.model, slice_inputs(inputs, start, end), r["guidance"],
                                                  batch, end - start)
                    z1, windows = solve_windows(
                        make_field, z0, np.zeros(frames, bool) if known is None else known,
                        None if x_known is None else x_known.expand(batch, -1, -1), solver, window=window,
                        context=self.context_frames, crossfade=self.crossfade_frames, record_steps=r["trajectory"],
                        progress=window_progress(r["progress"]))
                    z1 = z1.float()
            t2 = time.perf_counter()
            audio = b.codec.decode(z1.cpu()).float().cpu().numpy()
            t3 = time.perf_counter()
        audio = np.nan_to_num(audio, nan=0.0, posinf=0.0, neginf=0.0).clip(-1.0, 1.0).astype(np.float32)
        timeline = prepared.timeline
        parameters = {
            "model": b.name, "text": r["text"], "chords": timeline.chord_list,
            "drums": _describe_input(drums), "melody": _describe_input(melody), "duration": r["duration"],
            "bpm": r["bpm"], "meter": r["meter"], "guidance": r["guidance"].to_dict(), "solver": solver.to_dict(),
            "seed": r["seed"], "num_samples": batch, "precision": self.precision, "device": str(self.device)}
        first = windows[0]
        return GenerationResult(
            audio=audio, sample_rate=b.sample_rate, latents=z1.cpu(), nfe=sum(w.nfe for w in windows),
            seconds=time.perf_counter() - started,
            steps={"times": first.step_times, "sizes": first.step_sizes}, trajectory=first.trajectory,
            warnings=list(timeline.warnings), seed=r["seed"], device=str(self.device),
            timings={"conditions": t1 - t0, "sampling": t2 - t1, "decoding": t3 - t2},
            parameters=parameters, previews=timeline, windows=windows)

    def initial_noise(self, seed: int, batch: int, frames: int) -> torch.Tensor:
        """z_0 ~ N(0, I) drawn on the CPU from `seed`, so a seed gives the same noise on every device.

        Beyond one window, the first window's noise is drawn first, exactly as for a clip of the
        window's length, then the rest: a long clip starts with the noise of the short one."""
        g = torch.Generator().manual_seed(seed)
        dim, window = self.model.cfg.flow_dim, self.window_frames
        if frames <= window:
            return torch.randn(batch, frames, dim, generator=g).to(self.device)
        first = torch.randn(batch, window, dim, generator=g)
        return torch.cat([first, torch.randn(batch, frames - window, dim, generator=g)], dim=1).to(self.device)

    def _duration(self, duration: tp.Any) -> float:
        if duration is None:
            return float(self.bundle.defaults.duration)
        hi = self.max_duration
        return check_number("duration", duration, MIN_DURATION, hi,
                            expected=f"seconds from {MIN_DURATION:g} to {hi:g}", error=GenerationError)


def _check_text(text: tp.Any) -> str:
    if text is None:
        return ""
    if not isinstance(text, str):
        raise GenerationError("text", f"expected a string, got {describe_value(text)}")
    text = " ".join(text.split())
    if len(text) > MAX_TEXT_CHARS:
        raise GenerationError("text", f"expected at most {MAX_TEXT_CHARS} characters, got {len(text)}")
    return text


def _check_device(device: tp.Any) -> torch.device:
    """None (CUDA when available, else the CPU), 'cpu', 'cuda', 'cuda:1', or a `torch.device`."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(device, (str, torch.device)):
        raise GenerationError("device", f"expected 'cpu', 'cuda', 'cuda:N', a torch.device or None, got "
                              f"{describe_value(device)}")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        raise GenerationError("device", f"expected 'cpu', 'cuda', 'cuda:N', a torch.device or None, got {device!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise GenerationError("device", "CUDA is not available here; use 'cpu' or None")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise GenerationError("device", f"expected 'cpu' or 'cuda', got {device!r}")
    return dev


def _describe_input(value) -> tp.Optional[str]:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return f"<{type(value).__name__}>"


_CACHE: tp.Dict[tp.Tuple[str, str, str], Pipeline] = {}
_CACHE_LOCK = threading.Lock()


def load_pipeline(name_or_path: str = "embedded", device: tp.Union[str, torch.device, None] = None,
                  precision: str = "fp32", progress: tp.Optional[tp.Callable[[int, int, str], None]] = None) -> Pipeline:
    """Load (once per process) a pipeline: 'embedded', a bundle folder, or a released JASCO checkpoint
    (a folder, its `state_dict.bin`, or a Hugging Face repo id such as
    'facebook/jasco-chords-drums-400M', downloaded on first use unless `HF_HUB_OFFLINE=1`;
    `HF_TOKEN` for gated repositories). `progress(done_bytes, total_bytes, what)` reports downloads.

    Wrong arguments raise a `FieldError`: `model` (name_or_path), `device`, `precision`, `progress`.
    """
    from .checkpoints import load_bundle
    from .errors import CheckpointError

    if isinstance(name_or_path, os.PathLike):
        name_or_path = os.fspath(name_or_path)
    if not isinstance(name_or_path, str) or not name_or_path.strip():
        raise CheckpointError("model", "expected 'embedded', a bundle folder, a released checkpoint (folder or "
                              f"state_dict.bin) or a Hugging Face repo id, got {describe_value(name_or_path)}")
    dev = _check_device(device)
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise GenerationError("precision", f"expected one of {', '.join(PRECISIONS)}, got {describe_value(precision)}")
    if precision == "fp16" and dev.type != "cuda":
        raise GenerationError("precision", "fp16 needs a CUDA device; use bf16 or fp32 on the CPU")
    if progress is not None and not callable(progress):
        raise GenerationError("progress", f"expected a function progress(done_bytes, total_bytes, what) or None, got "
                              f"{describe_value(progress)}")
    key = (name_or_path.strip(), str(dev), precision)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = Pipeline(load_bundle(key[0], device="cpu", progress=progress), device=dev, precision=precision)
        return _CACHE[key]


def unload_pipeline(pipeline: Pipeline) -> None:
    """Forget a pipeline loaded by `load_pipeline`, so that its memory is freed once nothing else
    holds it (the page does this when it switches models)."""
    with _CACHE_LOCK:
        for key in [k for k, p in _CACHE.items() if p is pipeline]:
            del _CACHE[key]
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
