"""`read_conditions` / `encode_conditions`: the one encoder of conditions, on the shipped bundle.

The previews and the model read the same timeline, so what a preview shows (chord segments,
melody pitches, drum hits) is checked here against what the model's tensors hold.
"""
import os

import numpy as np
import pytest
import torch

from jasco_core.checkpoints import load_bundle
from jasco_core.conditions import ConditionError
from jasco_core.conditions.encode import encode_conditions, given, read_conditions
from jasco_core.paths import EXAMPLES_DIR

DRUMS = os.path.join(EXAMPLES_DIR, "jazz_1000201_drums.wav")
MELODY = os.path.join(EXAMPLES_DIR, "jazz_1000201_melody.mid")


@pytest.fixture(scope="module")
def bundle():
    return load_bundle("embedded")


def test_timeline_holds_every_condition_as_the_model_reads_it(bundle):
    t = read_conditions(bundle, chords="C:0 Am:2.5 F:5 G:7.5", drums=DRUMS, melody=MELODY, duration=10.0)
    assert (t.frames, t.frame_rate, t.sample_rate) == (500, 50.0, 22050)
    assert [s.label for s in t.chord_segments] == ["C", "Am", "F", "G"]
    assert t.chord_list == [["C", 0.0], ["Am", 2.5], ["F", 5.0], ["G", 7.5]]
    assert t.melody.salience.shape == (53, 500) and t.melody_pitches.shape == (500,)
    assert t.drums.samples.shape == (220500,) and t.drum_latents.shape == (500, bundle.drum_encoder.latent_dim)
    # the preview's hits are the hits of the latents the model receives
    assert np.array_equal(t.drum_hits, bundle.drum_encoder.hits(t.drum_latents)) and len(t.drum_hits) > 10
    assert set(t.as_dict()) == {"chords", "chord_list", "melody_pitches", "drums"}

    enc = encode_conditions(bundle, "mellow jazz piano", t, num_samples=2)
    x = enc.inputs
    assert x.text.shape[0] == 2 and x.text_mask.shape[0] == 2 and enc.frames == 500
    assert torch.equal(x.chords[0], torch.from_numpy(t.chords.frames(500, 50.0, bundle.vocabulary)))
    assert torch.equal(x.chords[0], x.chords[1])
    assert torch.equal(x.melody[1], torch.from_numpy(t.melody.salience).float())
    assert torch.equal(x.drums[0], torch.from_numpy(t.drum_latents))
    assert x.drums_silence.shape == (bundle.drum_encoder.latent_dim,)


def test_only_given_conditions_are_encoded(bundle):
    t = read_conditions(bundle, chords="", drums=None, melody=[], duration=2.0)
    assert t.chords is None and t.melody is None and t.drums is None and t.warnings == [] and t.as_dict() == {}
    x = encode_conditions(bundle, "", t).inputs
    assert x.chords is None and x.melody is None and x.drums is None and x.text_mask.sum() == 0
    assert not given(None) and not given("  ") and not given(()) and given("C:0") and given(np.zeros(3))


def test_errors_name_the_condition(bundle):
    with pytest.raises(ConditionError) as err:
        read_conditions(bundle, chords="C:0 X#9:1", duration=4.0)
    assert err.value.field == "chords"
    with pytest.raises(ConditionError) as err:
        read_conditions(bundle, melody="tune.xyz", duration=4.0)
    assert err.value.field == "melody"
    with pytest.raises(ConditionError) as err:
        read_conditions(bundle, drums=(np.zeros(10, np.float32), 22050), duration=4.0)
    assert err.value.field == "drums"


def test_a_condition_the_model_lacks_is_ignored_with_a_warning(bundle, monkeypatch):
    monkeypatch.setattr(type(bundle), "accepts", property(lambda self: ("text", "chords")))
    t = read_conditions(bundle, chords="C:0", melody=MELODY, duration=4.0)
    assert t.melody is None and any("does not take melody" in w for w in t.warnings)


def test_the_embedded_bundle_states_its_training_rule_for_frames_before_the_first_chord(bundle):
    assert bundle.chords_before_first == "null"          # its training data used frame_chords' null rule
    timeline = read_conditions(bundle, chords="C:1 F:2", duration=3.0)
    chords = encode_conditions(bundle, "", timeline).inputs.chords[0]
    assert chords[:50].tolist() == [bundle.vocabulary.null_index] * 50 and chords[50] == bundle.vocabulary.index_of("C")
