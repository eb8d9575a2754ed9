"""Text features of a rendered data set: MiniLM per-token states, reduced by PCA for transport.

    python -m jasco_core.training.text_features data/train.npz --out data/train_text.npz [--dim 64]

The embedded model's text projection is linear, so training on PCA-reduced states loses nothing
the projection could not express inside that subspace: a model trained with `Linear(k, dim)` on
x_r = (x - mean) @ C^T is exactly `Linear(384, dim)` on x with W = W_r C and b = b_r - W mean
(`fold_text_projection`). The reduced states are ~6x smaller, which matters when the data set is
carried to a training machine. Padded tokens stay zero.
"""
from __future__ import annotations

import argparse
import typing as tp

import numpy as np
import torch


def encode_descriptions(descriptions: tp.Sequence[str], batch_size: int = 64) -> tp.Tuple[np.ndarray, np.ndarray]:
    """MiniLM states [N, L, 384] (float32, padded to the longest) and masks [N, L]."""
    from tqdm import tqdm

    from ..encoders.text_minilm import MiniLMTextEncoder

    encoder = MiniLMTextEncoder()
    chunks = []
    for start in tqdm(range(0, len(descriptions), batch_size), desc="text", unit="batch"):
        states, mask = encoder.encode(list(descriptions[start:start + batch_size]))
        chunks.append((states.numpy(), mask.numpy()))
    length = max(s.shape[1] for s, _ in chunks)
    states = np.concatenate([np.pad(s, ((0, 0), (0, length - s.shape[1]), (0, 0))) for s, _ in chunks])
    masks = np.concatenate([np.pad(m, ((0, 0), (0, length - m.shape[1]))) for _, m in chunks])
    return states, masks


def fit_pca(states: np.ndarray, mask: np.ndarray, dim: int) -> tp.Tuple[np.ndarray, np.ndarray, float]:
    """Mean [384], components [dim, 384] of the unmasked token states, and the variance kept."""
    tokens = states[mask.astype(bool)].astype(np.float64)
    mean = tokens.mean(0)
    _, s, vt = np.linalg.svd(tokens - mean, full_matrices=False)
    kept = float((s[:dim] ** 2).sum() / (s ** 2).sum())
    return mean.astype(np.float32), vt[:dim].astype(np.float32), kept


def reduce(states: np.ndarray, mask: np.ndarray, mean: np.ndarray, components: np.ndarray) -> np.ndarray:
    out = (states - mean) @ components.T
    return (out * mask[..., None]).astype(np.float32)


# state-dict prefix of the model's text projection (the layer the PCA is folded into and out of)
TEXT_PROJECTION = "condition_provider.conditioners.description.output_proj."


def fold_text_projection(weight: torch.Tensor, bias: torch.Tensor, mean: np.ndarray,
                         components: np.ndarray) -> tp.Tuple[torch.Tensor, torch.Tensor]:
    """Linear(k, dim) on PCA coordinates -> the equivalent Linear(384, dim) on MiniLM states."""
    c = torch.from_numpy(components).to(weight)
    m = torch.from_numpy(mean).to(weight)
    w = weight @ c
    return w, bias - w @ m


def unfold_text_projection(weight: torch.Tensor, bias: torch.Tensor, mean: np.ndarray,
                           components: np.ndarray) -> tp.Tuple[torch.Tensor, torch.Tensor]:
    """Inverse of `fold_text_projection` (PCA components are orthonormal rows): a bundle's
    Linear(384, dim) -> the Linear(k, dim) on PCA coordinates, so a shipped model can be trained on."""
    c = torch.from_numpy(components).to(weight)
    m = torch.from_numpy(mean).to(weight)
    return weight @ c.T, bias + weight @ m


def main(argv: tp.Optional[tp.Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jasco_core.training.text_features", description=__doc__.split("\n\n")[0])
    parser.add_argument("data", help="data set .npz (its `descriptions`)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--max-tokens", type=int, default=40)
    parser.add_argument("--pca-from", help="reuse the PCA of another text-feature file (held-out sets)")
    args = parser.parse_args(argv)
    with np.load(args.data, allow_pickle=False) as d:
        descriptions = [str(x) for x in d["descriptions"]]
    states, mask = encode_descriptions(descriptions)
    states, mask = states[:, :args.max_tokens], mask[:, :args.max_tokens]
    if args.pca_from:
        with np.load(args.pca_from) as p:
            mean, components, kept = p["pca_mean"], p["pca_components"], float(p["pca_variance_kept"])
    else:
        mean, components, kept = fit_pca(states, mask, args.dim)
    reduced = reduce(states, mask, mean, components)
    np.savez_compressed(args.out, states=reduced.astype(np.float16), mask=mask.astype(np.int8), pca_mean=mean,
             pca_components=components, pca_variance_kept=np.float32(kept))
    print(f"{len(descriptions)} descriptions, {states.shape[1]} tokens max, PCA {args.dim} dims keeps "
          f"{kept:.1%} of the variance -> {args.out}")


if __name__ == "__main__":
    main()
