"""`FieldError` and the checks of the public boundary.

One table covers every argument of `Pipeline.generate`, `Guidance`, `SolverConfig` and
`load_pipeline`: each wrong value must raise a `FieldError` subclass (a `ValueError`) whose
`field` names the argument and whose message says what was expected.
"""
import math
import pickle

import numpy as np
import pytest
import torch

import jasco_core
from jasco_core.conditions import ConditionError
from jasco_core.errors import (CheckpointError, FieldError, check_bool, check_integer, check_number, check_text,
                               describe_value)
from jasco_core.guidance import MAX_WEIGHT, Guidance, GuidanceError
from jasco_core.pipeline import GenerationError
from jasco_core.solvers import MaxNFEExceeded, SolverConfig, SolverConfigError


def test_field_error_carries_field_and_message_and_pickles():
    err = FieldError("duration", "expected seconds from 0.5 to 10, got 60")
    assert isinstance(err, ValueError)
    assert (err.field, err.message, str(err)) == ("duration", "expected seconds from 0.5 to 10, got 60",
                                                   "duration: expected seconds from 0.5 to 10, got 60")
    assert str(FieldError("bpm", "bpm: too fast")) == "bpm: too fast"          # the prefix is not repeated
    copy = pickle.loads(pickle.dumps(ConditionError("chords", "cannot read 'H'")))
    assert type(copy) is ConditionError and (copy.field, copy.message) == ("chords", "cannot read 'H'")


def test_subclasses_have_a_default_field():
    assert GuidanceError("all three weights are zero").field == "guidance"
    assert SolverConfigError("bad").field == "solver"
    assert CheckpointError("gone").field == "model"
    assert MaxNFEExceeded("stopped").field == "solver.max_nfe"
    for cls in (ConditionError, GenerationError, GuidanceError, SolverConfigError, CheckpointError, MaxNFEExceeded):
        assert issubclass(cls, FieldError) and issubclass(cls, ValueError)


@pytest.mark.parametrize("check, value, ok", [
    (lambda v: check_number("x", v, 0, 1), 0.5, 0.5),
    (lambda v: check_number("x", v, 0, 1), np.float32(0.25), 0.25),
    (lambda v: check_integer("x", v, 1, 8), np.int64(3), 3),
    (lambda v: check_integer("x", v, 1, 8), 4.0, 4),
    (lambda v: check_bool("x", v), np.bool_(True), True),
    (lambda v: check_text("x", v), None, None),
])
def test_checks_accept_what_they_should(check, value, ok):
    assert check(value) == ok


@pytest.mark.parametrize("check, value", [
    (lambda v: check_number("x", v, 0, 1), "0.5"), (lambda v: check_number("x", v, 0, 1), True),
    (lambda v: check_number("x", v, 0, 1), math.nan), (lambda v: check_number("x", v, 0, 1), 1.5),
    (lambda v: check_integer("x", v, 1, 8), 2.5), (lambda v: check_integer("x", v, 1, 8), 9),
    (lambda v: check_integer("x", v, 1, 8), math.inf), (lambda v: check_bool("x", v), 1),
    (lambda v: check_text("x", v, allow_none=False), None), (lambda v: check_text("x", v), b"bytes"),
])
def test_checks_refuse_with_the_field(check, value):
    with pytest.raises(FieldError) as err:
        check(value)
    assert err.value.field == "x" and "expected" in err.value.message


def test_describe_value_is_short():
    assert describe_value("x" * 500).endswith("...") and len(describe_value("x" * 500)) <= 60
    assert describe_value({"a": 1}).startswith("dict ")


# ---------------------------------------------------------------------------------------------
# The public boundary, one table
# ---------------------------------------------------------------------------------------------
GENERATE = [  # (arguments of generate, error type, field, words of the expected form)
    (dict(text=5), GenerationError, "text", "string"),
    (dict(text="x" * 1001), GenerationError, "text", "1000 characters"),
    (dict(chords=5), ConditionError, "chords", "text or a list"),
    (dict(chords="H:0"), ConditionError, "chords", "cannot read"),
    (dict(chords=[("C", -1.0)]), ConditionError, "chords", "negative"),
    (dict(drums=3.5), ConditionError, "drums", "file path"),
    (dict(drums="/no/such/drums.wav"), ConditionError, "drums", "does not exist"),
    (dict(drums=(np.full(100, np.nan, np.float32), 22050)), ConditionError, "drums", "NaN"),
    (dict(melody=object()), ConditionError, "melody", "MIDI"),
    (dict(melody=np.zeros((7, 5))), ConditionError, "melody", "53"),
    (dict(guidance="strong"), GuidanceError, "guidance", "Guidance(all="),
    (dict(guidance={"al": 1}), GuidanceError, "guidance", "unknown keys"),
    (dict(guidance={"all": "high"}), GuidanceError, "guidance.all", "number"),
    (dict(solver={"method": "eulr"}), SolverConfigError, "solver.method", "euler"),
    (dict(solver={"methd": "euler"}), SolverConfigError, "solver", "unknown keys"),
    (dict(solver=5), SolverConfigError, "solver", "SolverConfig"),
    (dict(solver="rk4:zero"), SolverConfigError, "solver", "method:steps"),
    (dict(seed=-1), GenerationError, "seed", "whole number"),
    (dict(seed=1.5), GenerationError, "seed", "whole number"),
    (dict(seed="7"), GenerationError, "seed", "whole number"),
    (dict(num_samples=0), GenerationError, "num_samples", "from 1 to 8"),
    (dict(num_samples=9), GenerationError, "num_samples", "from 1 to 8"),
    (dict(num_samples=True), GenerationError, "num_samples", "from 1 to 8"),
    (dict(trajectory="yes"), GenerationError, "trajectory", "True or False"),
    (dict(progress=5), GenerationError, "progress", "progress(t, nfe)"),
    (dict(duration="10"), GenerationError, "duration", "seconds"),
    (dict(duration=0.1), GenerationError, "duration", "seconds"),
    (dict(duration=math.inf), GenerationError, "duration", "seconds"),
    (dict(duration=1e6), GenerationError, "duration", "seconds"),
    (dict(bpm="fast"), GenerationError, "bpm", "beats per minute"),
    (dict(bpm=0), GenerationError, "bpm", "beats per minute"),
    (dict(meter=44), GenerationError, "meter", "string"),
    (dict(chords="| C | F |", meter="4/x"), ConditionError, "meter", "4/4"),
]

GUIDANCE = [
    (dict(all="high"), "guidance.all", "number"),
    (dict(all=True), "guidance.all", "number"),
    (dict(all=math.nan), "guidance.all", "finite"),
    (dict(all=1e9), "guidance.all", f"{MAX_WEIGHT:g}"),
    (dict(text=-MAX_WEIGHT - 1), "guidance.text", f"{MAX_WEIGHT:g}"),
    (dict(text=[1]), "guidance.text", "number"),
    (dict(null="x"), "guidance.null", "None for 1 - all - text"),
    (dict(null=math.inf), "guidance.null", "finite"),
    (dict(all=40, text=-40 - MAX_WEIGHT), "guidance.text", f"{MAX_WEIGHT:g}"),
    (dict(all=MAX_WEIGHT, text=MAX_WEIGHT), "guidance.null", "1 - all - text"),
    (dict(all=0, text=0, null=0), "guidance", "zero"),
    (dict(interval=(0.9, 0.1)), "guidance.interval", "0 <= a < b <= 1"),
    (dict(interval="early"), "guidance.interval", "two times"),
]

SOLVER = [
    (dict(method="foo"), "solver.method", "euler"),
    (dict(method=None), "solver.method", "dopri5"),
    (dict(method="euler", steps=0), "solver.steps", "whole number"),
    (dict(method="euler", steps=2.5), "solver.steps", "whole number"),
    (dict(method="euler", steps="8"), "solver.steps", "whole number"),
    (dict(rtol=0), "solver.rtol", "(0, 1)"),
    (dict(atol=1.0), "solver.atol", "(0, 1)"),
    (dict(rtol="1e-4"), "solver.rtol", "(0, 1)"),
    (dict(max_nfe=0), "solver.max_nfe", "whole number"),
    (dict(max_nfe=10**9), "solver.max_nfe", "whole number"),
    (dict(t_end=0), "solver.t_end", "(0, 1]"),
    (dict(t_end="end"), "solver.t_end", "(0, 1]"),
    (dict(method="rk4", steps=100, max_nfe=10), "solver.max_nfe", "400 evaluations"),
    (dict(method="euler", steps=2, schedule="linear"), "solver.schedule", "sway"),
    (dict(method="euler", steps=2, schedule=[0, 0.7, 0.5]), "solver.schedule", "increase"),
    (dict(method="dopri5", schedule="cosine"), "solver.schedule", "chooses its own steps"),
    (dict(method="euler", steps=2, coefficients=(((1.0,), (0.5,)),)), "solver.coefficients", "only the fitted"),
    (dict(method="bns", steps=1, schedule=(0.0, 1.0), coefficients=(((1.0, 2.0), (1.0,)),)), "solver.coefficients",
     "i + 1"),
]

LOAD = [
    (dict(name_or_path=5), CheckpointError, "model", "'embedded'"),
    (dict(name_or_path=""), CheckpointError, "model", "'embedded'"),
    (dict(name_or_path="no/such-model-here"), CheckpointError, "model", "hf download"),
    (dict(name_or_path="./no/such/folder"), CheckpointError, "model", "no such file"),
    (dict(device="gpu"), GenerationError, "device", "'cpu'"),
    (dict(device=0.5), GenerationError, "device", "'cpu'"),
    (dict(precision="fp8"), GenerationError, "precision", "fp32"),
    (dict(precision=32), GenerationError, "precision", "fp32"),
    (dict(progress="bar"), GenerationError, "progress", "progress(done_bytes"),
]
if not torch.cuda.is_available():
    LOAD += [(dict(device="cuda"), GenerationError, "device", "not available"),
             (dict(precision="fp16"), GenerationError, "precision", "CUDA")]


@pytest.fixture(scope="module")
def pipe():
    return jasco_core.load_pipeline("embedded", device="cpu")


def _assert_field_error(info, cls, field, words):
    err = info.value
    assert isinstance(err, cls) and isinstance(err, FieldError) and isinstance(err, ValueError)
    assert err.field == field, (err.field, str(err))
    assert words.lower() in str(err).lower(), str(err)
    assert str(err).startswith(f"{field}: ")


@pytest.mark.parametrize("kwargs, cls, field, words", GENERATE, ids=lambda v: str(v)[:40] if isinstance(v, dict) else "")
def test_generate_arguments(pipe, kwargs, cls, field, words):
    args = dict(dict(text="a prompt", duration=1.0), **kwargs)
    with pytest.raises(cls) as info:
        pipe.generate(**args)
    _assert_field_error(info, cls, field, words)


@pytest.mark.parametrize("kwargs, field, words", GUIDANCE, ids=lambda v: str(v)[:40] if isinstance(v, dict) else "")
def test_guidance_arguments(kwargs, field, words):
    with pytest.raises(GuidanceError) as info:
        Guidance(**kwargs)
    _assert_field_error(info, GuidanceError, field, words)


@pytest.mark.parametrize("kwargs, field, words", SOLVER, ids=lambda v: str(v)[:40] if isinstance(v, dict) else "")
def test_solver_config_arguments(kwargs, field, words):
    with pytest.raises(SolverConfigError) as info:
        SolverConfig(**kwargs)
    _assert_field_error(info, SolverConfigError, field, words)


@pytest.mark.parametrize("kwargs, cls, field, words", LOAD, ids=lambda v: str(v)[:40] if isinstance(v, dict) else "")
def test_load_pipeline_arguments(kwargs, cls, field, words, empty_cache):
    with pytest.raises(cls) as info:
        jasco_core.load_pipeline(**kwargs)
    _assert_field_error(info, cls, field, words)


def test_every_public_argument_is_in_the_table():
    """A new argument of the public API must get rows above."""
    import inspect

    from jasco_core.pipeline import Pipeline
    covered = {
        "generate": {k for row in GENERATE for k in row[0]},
        "Guidance": {k for row in GUIDANCE for k in row[0]},
        "SolverConfig": {k for row in SOLVER for k in row[0]},
        "load_pipeline": {k for row in LOAD for k in row[0]},
    }
    signatures = {"generate": Pipeline.generate, "Guidance": Guidance, "SolverConfig": SolverConfig,
                  "load_pipeline": jasco_core.load_pipeline}
    for name, fn in signatures.items():
        params = set(inspect.signature(fn).parameters) - {"self"}
        assert params <= covered[name], (name, sorted(params - covered[name]))


def test_valid_forms_are_accepted(pipe):
    """The same arguments in every accepted form: numpy numbers, dicts and text for guidance/solver."""
    solver = SolverConfig(method="euler", steps=np.int64(1), max_nfe=np.int32(4))
    assert solver.steps == 1 and type(solver.steps) is int
    assert Guidance(all=np.float32(2.0), text=-1).weights() == {"all": 2.0, "text": -1.0, "null": 0.0}
    a = pipe.generate("a prompt", duration=1.0, seed=np.int64(3), num_samples=np.int64(1), solver="euler:1",
                      guidance={"all": 2.0, "text": -1.5}, trajectory=np.bool_(False))
    b = pipe.generate("a prompt", duration=1.0, seed=3, solver=SolverConfig("euler", steps=1),
                      guidance=Guidance(all=2.0, text=-1.5))
    np.testing.assert_array_equal(a.audio, b.audio)
