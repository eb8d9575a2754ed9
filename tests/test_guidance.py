import itertools

import pytest
import torch

from jasco_core.guidance import MAX_WEIGHT, Guidance, GuidanceError, build_guided_field, guidance_inputs
from tests.conftest import tiny_inputs, tiny_model


def _full_batch_reference(model, inputs, weights, t, z):
    """Evaluate all three terms in one batch, then weight them (no pruning)."""
    B, T = z.shape[0], z.shape[1]
    stacked = guidance_inputs(model, inputs, ["all", "text", "null"])
    tensors = model.condition_provider(stacked, 3 * B, T)
    v = model(z.repeat(3, 1, 1), t, tensors).chunk(3)
    return sum(w * vi for w, vi in zip(weights, v))


@pytest.mark.parametrize("pattern", [p for p in itertools.product([0, 1], repeat=3) if any(p)])
def test_pruning_is_exact_for_every_zero_weight_combination(pattern):
    model = tiny_model()
    inputs = tiny_inputs(model)
    # A silent stem gives zero drum latents, so "silence" and the no-drums shortcut agree and the
    # full batch is a valid reference for every pruning.
    inputs.drums_silence = torch.zeros_like(inputs.drums_silence)
    values = (2.5, -0.75, 1.5)
    weights = [v if keep else 0.0 for v, keep in zip(values, pattern)]
    z = torch.randn(2, 20, model.cfg.flow_dim, generator=torch.Generator().manual_seed(3))
    t = torch.tensor([0.4])
    calls = []
    handle = model.linear.register_forward_hook(lambda m, i, o: calls.append(o.shape[0]))
    field = build_guided_field(model, inputs, Guidance(all=weights[0], text=weights[1], null=weights[2]), 2, 20)
    with torch.no_grad():
        v = field(t, z)
        ref = _full_batch_reference(model, inputs, weights, t, z)
    handle.remove()
    assert calls[0] == 2 * sum(pattern), "only terms with a non-zero weight are evaluated, in one call"
    torch.testing.assert_close(v, ref, rtol=1e-5, atol=1e-5)


def test_single_term_is_weighted():
    model = tiny_model()
    inputs = tiny_inputs(model)
    z = torch.randn(2, 20, model.cfg.flow_dim)
    t = torch.tensor([0.1])
    with torch.no_grad():
        one = build_guided_field(model, inputs, Guidance(all=1.0, text=0.0, null=0.0), 2, 20)(t, z)
        two = build_guided_field(model, inputs, Guidance(all=2.0, text=0.0, null=0.0), 2, 20)(t, z)
    torch.testing.assert_close(two, 2 * one)


def test_null_defaults_to_one_minus_others():
    assert Guidance(all=3, text=1).weights() == {"all": 3.0, "text": 1.0, "null": -3.0}
    assert [n for n, _ in Guidance(all=1, text=0).active_terms()] == ["all"]
    assert [n for n, _ in Guidance(all=0, text=0).active_terms()] == ["null"]


def test_invalid_weights_name_the_field():
    with pytest.raises(GuidanceError, match="guidance"):
        Guidance(all=0, text=0, null=0).active_terms()
    with pytest.raises(GuidanceError, match="finite"):
        Guidance(all=float("nan")).active_terms()


def test_text_term_drops_temporal_conditions_only():
    model = tiny_model()
    inputs = tiny_inputs(model)
    stacked = guidance_inputs(model, inputs, ["all", "text", "null"])
    B = 2
    assert torch.equal(stacked.text[B:2 * B], inputs.text)  # text kept
    assert (stacked.chords[B:] == model.cfg.null_chord_index).all()
    assert stacked.melody[B:].abs().sum() == 0
    assert stacked.drums_present.tolist() == [True, True, False, False, False, False]
    assert stacked.text_mask[2 * B:].sum() == 0 and stacked.text.shape[1] == inputs.text.shape[1]


def test_coerce_accepts_the_public_forms():
    default = Guidance(all=2.0, text=-1.5)
    assert Guidance.coerce(None, default) is default
    assert Guidance.coerce({"all": 3, "text": 0}, default) == Guidance(all=3.0, text=0.0)
    assert Guidance.coerce(4, default) == Guidance(all=4.0, text=0.0)
    with pytest.raises(GuidanceError, match="guidance"):
        Guidance.coerce("strong", default)
    assert Guidance(all=MAX_WEIGHT, text=-MAX_WEIGHT + 1).weights()["null"] == 0.0   # the limits are inclusive


@pytest.mark.parametrize("weights", [(2.0, -1.5, None), (0.0, 3.0, -1.0), (5.0, 0.0, -4.0)])
def test_guidance_interval_uses_the_conditioned_term_alone_outside_it(weights):
    model = tiny_model()
    inputs = tiny_inputs(model)
    inputs.drums_silence = torch.zeros_like(inputs.drums_silence)
    guidance = Guidance(*weights, interval=(0.25, 0.75))
    w = list(guidance.weights().values())
    z = torch.randn(2, 20, model.cfg.flow_dim, generator=torch.Generator().manual_seed(3))
    field = build_guided_field(model, inputs, guidance, 2, 20)
    full = build_guided_field(model, inputs, Guidance(*weights), 2, 20)
    calls = []
    handle = model.linear.register_forward_hook(lambda m, i, o: calls.append(o.shape[0]))
    with torch.no_grad():
        inside = field(torch.tensor([0.5]), z)
        outside = field(torch.tensor([0.9]), z)
        alone = _full_batch_reference(model, inputs, [1.0, 0.0, 0.0], torch.tensor([0.9]), z)
        torch.testing.assert_close(inside, full(torch.tensor([0.5]), z))
    handle.remove()
    assert calls[1] == 2, "outside the interval the model sees one row per sample"
    torch.testing.assert_close(outside, sum(w) * alone, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("bad", [(0.5, 0.5), (0.8, 0.2), (-0.1, 0.5), (0.2, 1.5), "0.1,0.9", (0.1,), (0.1, float("nan"))])
def test_guidance_interval_is_checked(bad):
    with pytest.raises(GuidanceError) as e:
        Guidance(2.0, 0.0, interval=bad)
    assert e.value.field == "guidance.interval"


def test_guidance_interval_round_trips_and_is_left_out_when_unset():
    g = Guidance(2.0, -1.5, interval=[0.1, 0.9])
    assert g.interval == (0.1, 0.9)
    assert Guidance.from_dict(g.to_dict()) == g
    assert "interval" not in Guidance(2.0, -1.5).to_dict()
