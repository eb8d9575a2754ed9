"""`ModelBundle` and `GenerationDefaults`."""
import pytest

from jasco_core.checkpoints import CONDITION_NAMES, GenerationDefaults, ModelBundle
from jasco_core.guidance import Guidance, GuidanceError
from jasco_core.solvers import SolverConfig, SolverConfigError
from tests.conftest import tiny_model


def test_defaults_round_trip_and_refuse_bad_values():
    d = GenerationDefaults(guidance=Guidance(all=2.0, text=-1.5), solver=SolverConfig("euler", steps=4), duration=8.0)
    assert GenerationDefaults.from_dict(d.to_dict()) == d
    assert GenerationDefaults.from_dict({}) == GenerationDefaults()
    with pytest.raises(GuidanceError):
        GenerationDefaults.from_dict({"guidance": {"all": "x"}})
    with pytest.raises(SolverConfigError):
        GenerationDefaults.from_dict({"solver": {"method": "nope"}})


def test_bundle_reports_what_the_model_accepts():
    model = tiny_model()
    bundle = ModelBundle(name="tiny", model=model, codec=type("C", (), {"frame_rate": 50.0, "sample_rate": 16000})(),
                         text_encoder=None, drum_encoder=None, vocabulary=None)
    assert bundle.accepts == ("text", *(CONDITION_NAMES[c] for c in model.cfg.temporal_conditions))
    assert set(bundle.accepts) == {"text", "chords", "drums", "melody"}
    assert (bundle.frame_rate, bundle.sample_rate) == (50.0, 16000)
    no_melody = ModelBundle(name="t", model=tiny_model(melody_dim=0), codec=bundle.codec, text_encoder=None,
                            drum_encoder=None, vocabulary=None)
    assert no_melody.accepts == ("text", "chords", "drums")
