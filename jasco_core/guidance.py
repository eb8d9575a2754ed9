"""Multi-source classifier-free guidance.

    v = w_all * v(all conditions) + w_text * v(text only) + w_null * v(nothing)

`Guidance(all, text, null=None)` holds the weights (`null=None` means `1 - all - text`, as in the
original). Terms whose weight is zero are not evaluated at all; the others run as ONE batched model
call (rows [all; text; null], in that order). Unlike the original, pruning is exact for every
combination of zero weights, and a single remaining term is still multiplied by its weight.

`interval=(a, b)` (a guidance interval, as in Kynkaanniemi et al. 2024): the full guided field only
for a <= t <= b; elsewhere the conditioned term alone, scaled by the sum of the weights (for the
usual weights, which sum to 1, that is v(all)): one model row per sample instead of three, so
evaluations outside the interval cost about a third. `bench/bench_solvers.py --interval` measures
its effect on seconds, error and adherence.
"""
from __future__ import annotations

import dataclasses
import typing as tp

import torch

from .errors import FieldError, check_number, describe_value
from .model import ConditionInputs, FlowMatchingModel, PreparedConditions, concat_inputs, null_inputs

TERM_NAMES = ("all", "text", "null")
KEYS = (*TERM_NAMES, "interval")
MIN_WEIGHT = 1e-6
MAX_WEIGHT = 50.0


class GuidanceError(FieldError):
    """Invalid guidance weights (field `guidance`, or `guidance.all` etc.)."""

    default_field = "guidance"


@dataclasses.dataclass(frozen=True)
class Guidance:
    """Weights of the three guidance terms. Defaults are the released JASCO's (5, 0, -4).

    Each weight, `null` included when it is derived as `1 - all - text`, must be a finite number
    with |w| <= `MAX_WEIGHT` (50): far beyond the weights anyone uses (the released models use 5 and
    -4), where the guided field is a difference of near-equal terms scaled so much that every
    solver diverges. Anything else raises `GuidanceError` naming the weight (`guidance.all`, ...).
    """

    all: float = 5.0
    text: float = 0.0
    null: tp.Optional[float] = None
    interval: tp.Optional[tp.Tuple[float, float]] = None   # full guidance only for t in [a, b]

    def __post_init__(self):
        for name in ("all", "text", "null"):
            value = getattr(self, name)
            if name == "null" and value is None:
                continue
            expected = f"a finite number from {-MAX_WEIGHT:g} to {MAX_WEIGHT:g}" + (", or None for 1 - all - text"
                                                                              if name == "null" else "")
            object.__setattr__(self, name, check_number(f"guidance.{name}", value, -MAX_WEIGHT, MAX_WEIGHT,
                                                        expected=expected, error=GuidanceError))
        if self.null is None and abs(1.0 - self.all - self.text) > MAX_WEIGHT:
            raise GuidanceError("guidance.null", f"1 - all - text = {1.0 - self.all - self.text:g} is beyond "
                                f"+-{MAX_WEIGHT:g}; give null explicitly or smaller weights")
        self.active_terms()  # refuses three zero weights
        object.__setattr__(self, "interval", _check_interval(self.interval))

    def weights(self) -> tp.Dict[str, float]:
        null = 1.0 - self.all - self.text if self.null is None else self.null
        return {"all": float(self.all), "text": float(self.text), "null": float(null)}

    def active_terms(self) -> tp.List[tp.Tuple[str, float]]:
        """(name, weight) of every term with |weight| >= 1e-6, in batch order."""
        terms = [(n, w) for n, w in self.weights().items() if abs(w) >= MIN_WEIGHT]
        if not terms:
            raise GuidanceError("guidance", "all three weights are zero; set e.g. all=5, text=0 "
                                "(null = 1 - all - text)")
        return terms

    @classmethod
    def coerce(cls, value: tp.Any, default: "Guidance") -> "Guidance":
        """What the public API accepts as `guidance`: None (`default`), a `Guidance`, a dict of its
        weights, or a number (w_all, with text 0)."""
        if value is None:
            return default
        if isinstance(value, Guidance):
            return value
        if isinstance(value, tp.Mapping):
            return cls.from_dict(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return cls(all=value, text=0.0)
        raise GuidanceError("guidance", f"expected Guidance(all=..., text=..., null=None), a dict of those weights "
                            f"or a number, got {describe_value(value)}")

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        if self.interval is None:
            del out["interval"]      # the original's form, unchanged for the common case
        else:
            out["interval"] = list(self.interval)
        return out

    @classmethod
    def from_dict(cls, d: tp.Mapping[str, tp.Any]) -> "Guidance":
        if not isinstance(d, tp.Mapping):
            raise GuidanceError("guidance", f"expected a mapping of weights, got {describe_value(d)}")
        unknown = sorted(set(map(str, d)) - set(KEYS))
        if unknown:
            raise GuidanceError("guidance", f"unknown keys {unknown}; expected some of {list(KEYS)}")
        return cls(**d)


def _check_interval(value: tp.Any) -> tp.Optional[tp.Tuple[float, float]]:
    if value is None:
        return None
    expected = "None, or two times [a, b] with 0 <= a < b <= 1, e.g. [0.1, 0.9]"
    if isinstance(value, (str, bytes)) or not isinstance(value, tp.Sequence) or len(value) != 2:
        raise GuidanceError("guidance.interval", f"expected {expected}, got {describe_value(value)}")
    a, b = (check_number("guidance.interval", v, 0.0, 1.0, expected=expected, error=GuidanceError) for v in value)
    if not a < b:
        raise GuidanceError("guidance.interval", f"expected {expected}, got [{a:g}, {b:g}]")
    return (a, b)


def dropped_conditions(model: FlowMatchingModel, term: str) -> tp.Tuple[str, ...]:
    """Conditions a term replaces by their null value."""
    cfg = model.cfg
    if term == "all":
        return ()
    if term == "text":
        return cfg.text_term_drops
    if term == "null":
        return ("description", *cfg.temporal_conditions)
    raise GuidanceError("guidance", f"unknown term {term!r}; expected one of {TERM_NAMES}")


def guidance_inputs(model: FlowMatchingModel, inputs: ConditionInputs, terms: tp.Sequence[str]) -> ConditionInputs:
    """Rows of every term stacked into one batch: [term_0 rows; term_1 rows; ...]."""
    return concat_inputs([null_inputs(model.cfg, inputs, dropped_conditions(model, term)) for term in terms])


class GuidedField:
    """The guided vector field as a plain callable `f(t, z) -> v` for the solvers.

    `z` is [B, T, D]; the model sees [n_terms * B, T, D] once per call. With an `interval` (a, b),
    a call at t outside it sees [B, T, D] only: `conditioned` (the "all" rows) times the sum of
    the weights.
    """

    def __init__(self, model: FlowMatchingModel, prepared: PreparedConditions, weights: tp.Sequence[float],
                 interval: tp.Optional[tp.Tuple[float, float]] = None,
                 conditioned: tp.Optional[PreparedConditions] = None):
        self.model = model
        self.prepared = prepared
        self.weights = [float(w) for w in weights]
        self.interval, self.conditioned = interval, conditioned
        if interval is not None and conditioned is None:
            raise ValueError("a guidance interval needs the conditioned rows")

    @property
    def num_terms(self) -> int:
        return len(self.weights)

    def __call__(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        if self.interval is not None and not self.interval[0] <= float(t) <= self.interval[1]:
            v = self.model.forward_prepared(z, t, self.conditioned).to(z.dtype)
            return sum(self.weights) * v
        n = self.num_terms
        batch = z.repeat(n, 1, 1) if n > 1 else z
        v = self.model.forward_prepared(batch, t, self.prepared).to(z.dtype)
        chunks = v.chunk(n) if n > 1 else (v,)
        out = self.weights[0] * chunks[0]
        for w, c in zip(self.weights[1:], chunks[1:]):
            out = out + w * c
        return out


def build_guided_field(model: FlowMatchingModel, inputs: ConditionInputs, guidance: Guidance,
                       batch: int, frames: int) -> GuidedField:
    """Condition tensors for the active terms, computed once, and the field that reuses them."""
    terms = guidance.active_terms()
    names = [name for name, _ in terms]
    stacked = guidance_inputs(model, inputs, names)
    tensors = model.condition_provider(stacked, batch * len(terms), frames)
    prepared = model.prepare(tensors, frames)
    conditioned = None
    if guidance.interval is not None:
        if names[0] == "all":      # the first rows of the batch
            conditioned = PreparedConditions(prepared.input_term[:batch],
                                             [type(c)(*(x[:batch] for x in c)) for c in prepared.cross_caches], frames)
        else:
            alone = guidance_inputs(model, inputs, ["all"])
            conditioned = model.prepare(model.condition_provider(alone, batch, frames), frames)
    return GuidedField(model, prepared, [w for _, w in terms], guidance.interval, conditioned)
