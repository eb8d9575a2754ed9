"""The mel codec's learnt magnitude stage: identity at initialisation, capped output, bundle use."""
import numpy as np
import torch

from jasco_core.codecs.mel import MelCodec
from jasco_core.codecs.refiner import MagnitudeRefiner


def _codec():
    rng = np.random.default_rng(0)
    return MelCodec().fit_stats([rng.standard_normal(22050).astype(np.float32) * 0.1])


def test_untrained_refiner_returns_the_pinv_magnitude():
    codec = _codec()
    z = torch.randn(1, 40, codec.dim)
    base = codec.pinv_log_magnitude(z)
    net = MagnitudeRefiner(n_mels=codec.dim, n_freq=base.shape[1])
    torch.testing.assert_close(net(z, base), base)
    capped = MagnitudeRefiner(n_mels=codec.dim, n_freq=base.shape[1], max_log_magnitude=-3.0)
    assert capped.magnitude(z, base).max() <= np.exp(-3.0) + 1e-6


def test_decode_through_refiner_is_finite_and_deterministic():
    codec = _codec()
    z = torch.randn(1, 60, codec.dim, generator=torch.Generator().manual_seed(1))
    plain = codec.decode(z)
    codec.set_refiner(MagnitudeRefiner(n_mels=codec.dim))
    a, b = codec.decode(z), codec.decode(z)
    assert a.shape == plain.shape == (1, 60 * codec.hop_length)
    assert torch.isfinite(a).all() and torch.equal(a, b)
    assert not torch.equal(a, plain)  # pinv start, not the NNLS inversion
