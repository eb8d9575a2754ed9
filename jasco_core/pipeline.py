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
import random
import threading
import time
import typing as tp

import numpy as np
import torch

from .bundle import ModelBundle
from .guidance import Guidance, build_guided_field
from .model import ConditionInputs
from .solvers import Progress, SolverConfig, Trajectory, integrate

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 1000
MAX_SAMPLES = 8
PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def precision_context(device: torch.device, precision: str):
    """Mixed precision for sampling: matrix products in bf16/fp16, norms, softmax and the residual
    stream in fp32 (autocast). More accurate than casting the whole model, and as fast: with the
    weights marked `requires_grad` autocast casts each weight once per solve, not once per call."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=PRECISIONS[precision])


class GenerationError(ValueError):
    """A generation argument is invalid; `field` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


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
    conditions: tp.Dict[str, tp.Any]   # previews: chord segments, melody pitches, drum samples


@dataclasses.dataclass
class PreparedConditions:
    inputs: ConditionInputs
    frames: int
    warnings: tp.List[str]
    previews: tp.Dict[str, tp.Any]


class Pipeline:
    def __init__(self, bundle: ModelBundle, device: tp.Union[str, torch.device, None] = None,
                 precision: str = "fp32"):
        if precision not in PRECISIONS:
            raise GenerationError("precision", f"expected one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        if precision == "fp16" and self.device.type != "cuda":
            raise GenerationError("precision", "fp16 needs a CUDA device; use bf16 or fp32 on the CPU")
        self.bundle = bundle
        self.precision = precision
        self.model = bundle.model.to(self.device).eval()
        # autocast caches its weight casts only for leaves that require grad (no graph is built:
        # sampling runs under inference_mode)
        self.model.requires_grad_(precision != "fp32")
        self._lock = threading.Lock()  # one solve at a time per model (CPU threads are shared anyway)

    @property
    def name(self) -> str:
        return self.bundle.name

    @property
    def sample_rate(self) -> int:
        return self.bundle.sample_rate

    # -- conditions -------------------------------------------------------------------------------
    def prepare_conditions(self, text: str, chords=None, drums=None, melody=None, *, duration: float,
                           num_samples: int = 1, bpm: float = 120.0, meter: str = "4/4") -> PreparedConditions:
        """Validate and encode every condition once for a request (batch `num_samples`)."""
        from . import conditions as C

        b = self.bundle
        frames = int(round(duration * b.frame_rate))
        warnings: tp.List[str] = []
        previews: tp.Dict[str, tp.Any] = {}
        accepts = b.accepts
        for field, value in (("chords", chords), ("drums", drums), ("melody", melody)):
            if _given(value) and field not in accepts:
                warnings.append(f"{field}: the model '{b.name}' does not take {field}; ignored")
        states, mask = b.text_encoder.encode([text])
        inputs = ConditionInputs(text=states.expand(num_samples, -1, -1), text_mask=mask.expand(num_samples, -1))
        if "chords" in accepts and _given(chords):
            parsed = C.parse_progression(chords, duration=duration, bpm=bpm, meter=meter, vocabulary=b.vocabulary)
            warnings.extend(parsed.warnings)
            ids = torch.from_numpy(parsed.frames(frames, b.frame_rate, b.vocabulary))
            inputs.chords = ids.view(1, -1).expand(num_samples, -1)
            previews["chords"] = [dataclasses.astuple(s) for s in parsed.segments(duration)]
            previews["chord_list"] = [list(c) for c in parsed.chords]
        if "melody" in accepts and _given(melody):
            mel = C.load_melody(melody, frames, b.frame_rate)
            warnings.extend(mel.warnings)
            inputs.melody = torch.from_numpy(mel.salience).float().unsqueeze(0).expand(num_samples, -1, -1)
            previews["melody_pitches"] = mel.pitches
        if "drums" in accepts and _given(drums):
            clip = C.read_drums(drums, sample_rate=b.sample_rate, duration=duration)
            warnings.extend(clip.warnings)
            latents = b.drum_encoder.encode(clip.samples, b.sample_rate, frames)
            warnings.extend(getattr(b.drum_encoder, "notes", ()))  # e.g. no stem separation available
            inputs.drums = torch.from_numpy(np.asarray(latents, np.float32)).unsqueeze(0).expand(num_samples, -1, -1)
            inputs.drums_silence = torch.from_numpy(np.asarray(b.drum_encoder.silence(frames), np.float32))
            previews["drums"] = (clip.samples, b.sample_rate)
        return PreparedConditions(inputs.to(self.device), frames, warnings, previews)

    # -- generation -------------------------------------------------------------------------------
    def generate(self, text: str = "", chords=None, drums=None, melody=None, guidance: tp.Optional[Guidance] = None,
                 solver: tp.Optional[SolverConfig] = None, seed: tp.Optional[int] = None, num_samples: int = 1,
                 trajectory: bool = False, progress: tp.Optional[Progress] = None,
                 duration: tp.Optional[float] = None, bpm: float = 120.0, meter: str = "4/4") -> GenerationResult:
        """Generate `num_samples` clips. `seed=None` draws a seed and reports it in the result."""
        started = time.perf_counter()
        b = self.bundle
        guidance = guidance or b.defaults.guidance
        solver = solver or b.defaults.solver
        duration = b.defaults.duration if duration is None else duration
        text = _check_text(text)
        _check_number("duration", duration, 0.5, b.max_duration, f"seconds between 0.5 and {b.max_duration:g}")
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or not 1 <= num_samples <= MAX_SAMPLES:
            raise GenerationError("num_samples", f"expected an integer from 1 to {MAX_SAMPLES}, got {num_samples!r}")
        if seed is None:
            seed = random.SystemRandom().randrange(2**31)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**63:
            raise GenerationError("seed", f"expected a non-negative integer, got {seed!r}")
        seed = int(seed)
        guidance.active_terms()  # validates

        with self._lock, torch.inference_mode():
            t0 = time.perf_counter()
            prepared = self.prepare_conditions(text, chords, drums, melody, duration=duration,
                                               num_samples=num_samples, bpm=bpm, meter=meter)
            field = build_guided_field(self.model, prepared.inputs, guidance, num_samples, prepared.frames)
            t1 = time.perf_counter()
            z0 = self.initial_noise(seed, num_samples, prepared.frames)
            with precision_context(self.device, self.precision):
                result = integrate(field, z0, solver, record_steps=trajectory, progress=progress)
            z1 = result.z1.float()
            t2 = time.perf_counter()
            audio = b.codec.decode(z1.cpu()).float().cpu().numpy()
            t3 = time.perf_counter()
        audio = np.nan_to_num(audio, nan=0.0, posinf=0.0, neginf=0.0).clip(-1.0, 1.0).astype(np.float32)
        parameters = {
            "model": b.name, "text": text, "chords": prepared.previews.get("chord_list"),
            "drums": _describe_input(drums), "melody": _describe_input(melody), "duration": duration,
            "bpm": bpm, "meter": meter, "guidance": guidance.to_dict(), "solver": solver.to_dict(),
            "seed": seed, "num_samples": num_samples, "precision": self.precision, "device": str(self.device)}
        return GenerationResult(
            audio=audio, sample_rate=b.sample_rate, latents=z1.cpu(), nfe=result.nfe,
            seconds=time.perf_counter() - started,
            steps={"times": result.step_times, "sizes": result.step_sizes}, trajectory=result.trajectory,
            warnings=prepared.warnings, seed=seed, device=str(self.device),
            timings={"conditions": t1 - t0, "sampling": t2 - t1, "decoding": t3 - t2},
            parameters=parameters, conditions=prepared.previews)

    def initial_noise(self, seed: int, batch: int, frames: int) -> torch.Tensor:
        """z_0 ~ N(0, I) drawn on the CPU from `seed`, so a seed gives the same noise on every device."""
        g = torch.Generator().manual_seed(seed)
        z0 = torch.randn(batch, frames, self.model.cfg.flow_dim, generator=g)
        return z0.to(self.device)


def _given(value) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, tuple)):
        return len(value) > 0
    return True


def _check_text(text) -> str:
    if text is None:
        return ""
    if not isinstance(text, str):
        raise GenerationError("text", f"expected a string, got {type(text).__name__}")
    text = " ".join(text.split())
    if len(text) > MAX_TEXT_CHARS:
        raise GenerationError("text", f"at most {MAX_TEXT_CHARS} characters, got {len(text)}")
    return text


def _check_number(field: str, value, lo: float, hi: float, expected: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not np.isfinite(value) or not lo <= value <= hi:
        raise GenerationError(field, f"expected {expected}, got {value!r}")


def _describe_input(value) -> tp.Optional[str]:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return f"<{type(value).__name__}>"


_CACHE: tp.Dict[tp.Tuple[str, str, str], Pipeline] = {}
_CACHE_LOCK = threading.Lock()


def load_pipeline(name_or_path: str = "embedded", device: tp.Union[str, torch.device, None] = None,
                  precision: str = "fp32") -> Pipeline:
    """Load (once per process) a pipeline: 'embedded', a bundle folder, or a released JASCO checkpoint."""
    from .checkpoints import load_bundle

    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    key = (str(name_or_path), str(dev), precision)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = Pipeline(load_bundle(name_or_path, device="cpu"), device=dev, precision=precision)
        return _CACHE[key]
