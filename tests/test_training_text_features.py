"""Text features of the training data: the PCA reduction and its exact fold into the text projection."""
import numpy as np
import torch

from jasco_core.training.text_features import fit_pca, fold_text_projection, reduce


def test_text_projection_fold_is_exact():
    rng = np.random.default_rng(1)
    states = rng.standard_normal((4, 5, 384)).astype(np.float32)
    mask = np.ones((4, 5), np.int8)
    mean, comps, _ = fit_pca(states, mask, 16)
    reduced = torch.from_numpy(reduce(states, mask, mean, comps))
    proj = torch.nn.Linear(16, 32)
    w, b = fold_text_projection(proj.weight.data, proj.bias.data, mean, comps)
    folded = torch.nn.functional.linear(torch.from_numpy(states), w, b)
    torch.testing.assert_close(folded, proj(reduced), rtol=1e-4, atol=1e-4)
