"""Flow-matching training of the embedded model.

    python -m jasco_core.training.train --data data/train.npz --text data/train_text.npz --out runs/embedded

Objective (as the original JASCO solver): z_t = (1 - (1 - sigma_min) t) z_0 + t z_1 with z_0 ~ N(0, I),
z_1 the clip's latents, t ~ U(0, 1) per sample; target v = z_1 - (1 - sigma_min) z_0; loss
mean((1 + t) * (v_theta - v)^2) ("increasing" weighting), sigma_min = 1e-5.

Condition dropout trains all three guidance terms: with probability `p_null` every condition of a
sample is dropped (the null term); otherwise chords, melody and drums are each dropped with
probability `p_attribute` (all three dropped = the text-only term); text is kept otherwise.
Clips are random crops (`min_frames`..T frames) so the model handles every duration up to 10 s.

AdamW with linear warm-up and cosine decay, gradient clipping, EMA weights, a held-out validation
loss, periodic checkpoints with resume (`--resume`), a tqdm bar, `loss.csv`, and a loss-curve PNG.
Runs on CPU or CUDA (bf16 autocast there). `--max-minutes` stops cleanly within a time budget.
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import logging
import math
import os
import random
import shutil
import time
import typing as tp

import numpy as np
import torch

from ..model import ConditionInputs, FlowMatchingModel, ModelConfig
from .warm_start import load_warm_start, widen_flow_dim  # noqa: F401  (importable from here too)

logger = logging.getLogger(__name__)
SIGMA_MIN = 1e-5


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    batch_size: int = 64
    lr: float = 6e-4
    weight_decay: float = 0.02
    warmup_steps: int = 1000
    max_steps: int = 60_000
    min_lr_ratio: float = 0.05
    grad_clip: float = 1.0
    ema_decay: float = 0.9995
    ema_start: int = 1000
    p_null: float = 0.2
    p_attribute: float = 0.5
    min_frames: int = 150
    val_fraction: float = 0.03
    val_every: int = 500
    ckpt_every: int = 2000
    seed: int = 0
    head_lr_scale: float = 1.0  # learning-rate multiplier of the input and output projections (fine-tuning)


def embedded_model_config(**overrides) -> ModelConfig:
    """Architecture of the embedded model: small enough for 10 s of music in seconds on 2 CPU cores."""
    base = dict(dim=256, num_heads=4, num_layers=8, hidden_scale=4, flow_dim=64, norm_first=True,
                bias_ff=False, bias_attn=False, bias_proj=False, activation="gelu", dropout=0.1,
                positional_embedding="sin", chords_dim=16, drums_dim=8, melody_dim=16, text_dim=384,
                chords_card=194, null_chord_index=194, melody_bins=53, drums_latent_dim=4,
                drums_blurring_factor=1, sequence_length=500, time_embedding_dim=128, time_embedding_hidden=512,
                attribute_dropout={"symbolic": {"chords": 0.5, "melody": 0.5}, "wav": {"self_wav": 0.5}})
    base.update(overrides)
    return ModelConfig(**base)


# -- data ---------------------------------------------------------------------------------------
class TrainingData:
    """The rendered data set, held on the training device as compact tensors."""

    def __init__(self, data_paths: tp.Sequence[str], text_paths: tp.Sequence[str], device: torch.device,
                 melody_lut: np.ndarray):
        from .dataset import load_dataset
        if len(data_paths) != len(text_paths):
            raise ValueError("give one text-feature file per data file")
        parts = [load_dataset(p) for p in data_paths]
        self.lo, self.hi = float(parts[0]["latent_lo"]), float(parts[0]["latent_hi"])
        if any((float(p["latent_lo"]), float(p["latent_hi"])) != (self.lo, self.hi) for p in parts):
            raise ValueError("data files were quantised with different ranges")
        cat = lambda key, dtype: torch.from_numpy(np.concatenate([p[key].astype(dtype) for p in parts])).to(device)  # noqa: E731
        self.latents_q = cat("latents", np.uint8)      # [N, T, D] uint8
        self.chords = cat("chords", np.int64)          # [N, T]
        self.melody = cat("melody", np.int64)          # [N, T] midi / -1
        self.drums = cat("drums", np.float32)          # [N, T, F]
        texts = [np.load(p, allow_pickle=False) for p in text_paths]
        length = max(t["states"].shape[1] for t in texts)
        pad = lambda a: np.pad(a, [(0, 0), (0, length - a.shape[1])] + [(0, 0)] * (a.ndim - 2))  # noqa: E731
        self.text = torch.from_numpy(np.concatenate([pad(t["states"].astype(np.float32)) for t in texts])).to(device)
        self.text_mask = torch.from_numpy(np.concatenate([pad(t["mask"].astype(np.int64)) for t in texts])).to(device)
        self.melody_lut = torch.from_numpy(melody_lut.astype(np.int64)).to(device)   # midi -> bin
        self.n, self.frames, self.dim = self.latents_q.shape
        if self.text.shape[0] != self.n:
            raise ValueError(f"text features ({self.text.shape[0]}) and data ({self.n}) differ in size")

    def latents(self, idx: torch.Tensor) -> torch.Tensor:
        q = self.latents_q[idx].float()
        return self.lo + q * ((self.hi - self.lo) / 255.0)

    def salience(self, pitches: torch.Tensor, bins: int) -> torch.Tensor:
        """[B, T] MIDI pitches (-1 rest) -> one-hot salience [B, bins, T]."""
        voiced = pitches >= 0
        index = self.melody_lut[pitches.clamp(0, 127)]
        out = torch.zeros(*pitches.shape, bins, device=pitches.device)
        out.scatter_(-1, index.unsqueeze(-1), voiced.unsqueeze(-1).float())
        return out.transpose(1, 2)


def make_batch(data: TrainingData, idx: torch.Tensor, frames: int, cfg: ModelConfig, tc: TrainConfig,
               gen: torch.Generator, drop: bool = True) -> tp.Tuple[torch.Tensor, ConditionInputs]:
    """Latents [B, frames, D] and condition inputs of random crops, with condition dropout."""
    device = idx.device
    B = idx.shape[0]
    start = (torch.rand(B, generator=gen, device=device) * (data.frames - frames + 1)).long().clamp(max=data.frames - frames)
    rows = idx.view(-1, 1)
    cols = start.view(-1, 1) + torch.arange(frames, device=device).view(1, -1)
    z1 = data.latents(idx)[torch.arange(B, device=device).view(-1, 1), cols]
    chords = data.chords[rows, cols]
    melody = data.salience(data.melody[rows, cols], cfg.melody_bins)
    drums = data.drums[rows, cols]
    text, mask = data.text[idx], data.text_mask[idx].clone()
    present = torch.ones(B, dtype=torch.bool, device=device)
    if drop:
        u = lambda: torch.rand(B, generator=gen, device=device)  # noqa: E731
        null = u() < tc.p_null
        drop_chords = null | (u() < tc.p_attribute)
        drop_melody = null | (u() < tc.p_attribute)
        drop_drums = null | (u() < tc.p_attribute)
        chords = torch.where(drop_chords.view(-1, 1), torch.full_like(chords, cfg.null_chord_index), chords)
        melody = melody * (~drop_melody).view(-1, 1, 1)
        present = ~drop_drums
        mask = mask * (~null).view(-1, 1)
        text = text * (~null).view(-1, 1, 1)
    inputs = ConditionInputs(text=text, text_mask=mask, chords=chords, melody=melody, drums=drums,
                             drums_present=present, drums_silence=torch.zeros(drums.shape[-1], device=device))
    return z1, inputs


def flow_matching_loss(model: FlowMatchingModel, z1: torch.Tensor, inputs: ConditionInputs,
                       gen: torch.Generator) -> torch.Tensor:
    B, T, _ = z1.shape
    z0 = torch.randn(z1.shape, generator=gen, device=z1.device)
    t = torch.rand(B, generator=gen, device=z1.device)
    tt = t.view(-1, 1, 1)
    zt = (1 - (1 - SIGMA_MIN) * tt) * z0 + tt * z1
    target = z1 - (1 - SIGMA_MIN) * z0
    tensors = model.condition_provider(inputs, B, T)
    v = model.forward_prepared(zt, t, model.prepare(tensors, T))
    return ((1 + tt) * (v.float() - target) ** 2).mean()


# -- loop ---------------------------------------------------------------------------------------
def lr_at(step: int, tc: TrainConfig, time_fraction: float = 0.0) -> float:
    """Linear warm-up, then cosine decay over whichever budget runs out first: steps or time."""
    if step < tc.warmup_steps:
        return tc.lr * (step + 1) / tc.warmup_steps
    progress = min(1.0, max((step - tc.warmup_steps) / max(1, tc.max_steps - tc.warmup_steps), time_fraction))
    return tc.lr * (tc.min_lr_ratio + (1 - tc.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def train(data_path: tp.Sequence[str], text_path: tp.Sequence[str], out_dir: str, tc: TrainConfig, model_cfg: ModelConfig,
          device: str = "auto", max_minutes: float = float("inf"), resume: bool = True,
          progress_bar: bool = True, shard_dir: tp.Optional[str] = None, init_from: tp.Optional[str] = None) -> str:
    """Train (or resume) and return the path of the final checkpoint.

    The exported EMA weights (`ema.safetensors`, and size-limited shards in `shard_dir` if given)
    are those of the best validation loss seen, or the last ones if no validation ran after the
    EMA started. `init_from` (an earlier run's folder, or a bundle) starts a new run from trained
    weights (fine-tuning); a checkpoint already in `out_dir` takes precedence so the run resumes."""
    from tqdm import tqdm

    from ..conditions.melody import midi_to_bin

    start_time = time.time()
    dev = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto" else device))
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(tc.seed)
    lut = np.array([midi_to_bin(p) for p in range(128)])
    data = TrainingData(data_path, text_path, dev, lut)
    if data.dim != model_cfg.flow_dim or data.text.shape[-1] != model_cfg.text_dim:
        raise ValueError(f"data (D={data.dim}, text {data.text.shape[-1]}) does not fit the model config "
                         f"(flow_dim={model_cfg.flow_dim}, text_dim={model_cfg.text_dim})")
    n_val = max(1, int(round(data.n * tc.val_fraction)))
    perm = torch.randperm(data.n, generator=torch.Generator().manual_seed(tc.seed)).to(dev)
    val_idx, train_idx = perm[:n_val], perm[n_val:]

    model = FlowMatchingModel(model_cfg)
    model.init_weights()
    model.to(dev).train()
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    # weight decay on matrices only (not on norms, biases or the chord embedding table); the
    # latent's input and output projections may learn faster (`head_lr_scale`), which helps when
    # a warm start has given them new channels
    groups: tp.Dict[tp.Tuple[bool, bool], tp.List[torch.nn.Parameter]] = {}
    for n, p in model.named_parameters():
        decay = p.dim() >= 2 and not n.endswith("chords.emb.weight")
        head = n.split(".")[0] in ("emb", "linear")
        groups.setdefault((decay, head), []).append(p)
    opt = torch.optim.AdamW([{"params": params, "weight_decay": tc.weight_decay if decay else 0.0,
                              "lr_scale": tc.head_lr_scale if head else 1.0}
                             for (decay, head), params in sorted(groups.items())],
                            lr=tc.lr, betas=(0.9, 0.95), fused=dev.type == "cuda")
    step = 0
    ckpt_path = os.path.join(out_dir, "checkpoint.pt")
    best_val = float("inf")
    if resume and os.path.exists(ckpt_path):
        state = torch.load(ckpt_path, map_location=dev, weights_only=True)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["optimizer"])
        step, best_val = int(state["step"]), float(state.get("best_val", best_val))
        logger.info("resumed from %s at step %d", ckpt_path, step)
    elif resume and os.path.exists(os.path.join(out_dir, "ema.safetensors")):
        from safetensors.torch import load_file
        weights = load_file(os.path.join(out_dir, "ema.safetensors"), device=str(dev))
        model.load_state_dict(weights)
        ema.load_state_dict(weights)
        logger.info("initialised from %s", os.path.join(out_dir, "ema.safetensors"))
    elif init_from:
        weights = load_warm_start(init_from, model_cfg, text_path[0])
        model.load_state_dict(weights)
        ema.load_state_dict(weights)
        logger.info("warm start from %s", init_from)
    with open(os.path.join(out_dir, "model_config.json"), "w") as f:
        json.dump(model_cfg.to_dict(), f, indent=1)
    with open(os.path.join(out_dir, "train_config.json"), "w") as f:
        json.dump(dataclasses.asdict(tc), f, indent=1)

    first_step = step
    gen = torch.Generator(device=dev).manual_seed(tc.seed + step)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if dev.type == "cuda" else torch.autocast("cpu", enabled=False)
    log = open(os.path.join(out_dir, "loss.csv"), "a")
    if log.tell() == 0:
        log.write("step,loss,val_loss,lr,seconds\n")
    crop_choices = list(range(tc.min_frames, data.frames + 1, 50)) or [data.frames]
    if crop_choices[-1] != data.frames:
        crop_choices.append(data.frames)
    crop_rng = random.Random(tc.seed * 7919 + step)
    bar = tqdm(total=tc.max_steps, initial=step, disable=not progress_bar, dynamic_ncols=True)
    running = None

    best_state: tp.Optional[tp.Dict[str, torch.Tensor]] = None

    def validate() -> float:
        g = torch.Generator(device=dev).manual_seed(1234)
        losses = []
        with torch.no_grad(), autocast:
            for chunk in val_idx.split(tc.batch_size):
                z1, inputs = make_batch(data, chunk, data.frames, model_cfg, tc, g, drop=False)
                losses.append(flow_matching_loss(ema, z1, inputs, g).item())
        return float(np.mean(losses))

    def save(path_ckpt: bool = True) -> None:
        from safetensors.torch import save_file
        tmp = os.path.join(out_dir, "ema.safetensors.tmp")
        weights = best_state if best_state is not None else ema.state_dict()
        save_file({k: v.detach().float().cpu().contiguous() for k, v in weights.items()}, tmp)
        os.replace(tmp, os.path.join(out_dir, "ema.safetensors"))
        if path_ckpt:
            tmp = ckpt_path + ".tmp"
            torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "optimizer": opt.state_dict(),
                        "step": step, "best_val": best_val}, tmp)
            os.replace(tmp, ckpt_path)

    while step < tc.max_steps and (time.time() - start_time) / 60 < max_minutes:
        lr = lr_at(step, tc, (time.time() - start_time) / 60 / max_minutes)
        for group in opt.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)
        frames = crop_rng.choice(crop_choices)
        idx = train_idx[torch.randint(len(train_idx), (tc.batch_size,), generator=gen, device=dev)]
        z1, inputs = make_batch(data, idx, frames, model_cfg, tc, gen)
        with autocast:
            loss = flow_matching_loss(model, z1, inputs, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
        opt.step()
        with torch.no_grad():
            d = 0.0 if step < tc.ema_start else tc.ema_decay
            torch._foreach_lerp_(list(ema.parameters()), list(model.parameters()), 1 - d)
        step += 1
        if step % 50 == 0:
            value = loss.item()
            running = value if running is None else 0.9 * running + 0.1 * value
            bar.set_postfix(loss=f"{running:.4f}", lr=f"{lr:.1e}")
            val = ""
            if step % tc.val_every == 0:
                v = validate()
                val = f"{v:.5f}"
                if v < best_val and step >= tc.ema_start:
                    best_val = v
                    best_state = {k: t.detach().clone() for k, t in ema.state_dict().items()}
            log.write(f"{step},{value:.5f},{val},{lr:.3e},{time.time() - start_time:.1f}\n")
            log.flush()
        bar.update(1)
        if step % tc.ckpt_every == 0:
            save()
    bar.close()
    log.close()
    save()
    if shard_dir:
        from .shards import save_sharded
        os.makedirs(shard_dir, exist_ok=True)
        weights = best_state if best_state is not None else ema.state_dict()
        save_sharded({k: v.detach().float().cpu() for k, v in weights.items()}, shard_dir)
    try:
        plot_loss_curve(os.path.join(out_dir, "loss.csv"), os.path.join(out_dir, "loss_curve.png"))
    except Exception as exc:  # a missing plotting backend must not lose the weights
        logger.warning("loss curve not drawn: %s", exc)
    if shard_dir:
        for name in ("model_config.json", "train_config.json", "loss.csv", "loss_curve.png"):
            if os.path.exists(os.path.join(out_dir, name)):
                shutil.copy(os.path.join(out_dir, name), os.path.join(shard_dir, name))
    minutes = (time.time() - start_time) / 60
    logger.info("stopped at step %d after %.1f min (%.1f steps/s), best validation loss %.5f",
                step, minutes, (step - first_step) / max(minutes * 60, 1e-9), best_val)
    return ckpt_path


def plot_loss_curve(csv_path: str, png_path: str) -> None:
    """Training and validation loss against step."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [line.strip().split(",") for line in open(csv_path).readlines()[1:] if line.strip()]
    if not rows:
        return
    steps = np.array([int(r[0]) for r in rows])
    loss = np.array([float(r[1]) for r in rows])
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=110)
    k = max(1, len(loss) // 100)
    smooth = np.convolve(loss, np.ones(k) / k, mode="valid")
    ax.plot(steps, loss, alpha=0.25, lw=0.8, label="train (per 50 steps)")
    ax.plot(steps[k - 1:], smooth, lw=1.5, label="train (smoothed)")
    val = [(int(r[0]), float(r[2])) for r in rows if len(r) > 2 and r[2]]
    if val:
        ax.plot(*zip(*val), "o-", ms=3, lw=1.2, label="validation (EMA)")
    ax.set_xlabel("step")
    ax.set_ylabel("flow-matching loss")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png_path)
    plt.close(fig)


def main(argv: tp.Optional[tp.Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jasco_core.training.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, nargs="+", help="data set .npz files (jasco_core.training.dataset)")
    parser.add_argument("--text", required=True, nargs="+", help="their text features (jasco_core.training.text_features)")
    parser.add_argument("--out", required=True, help="output folder (checkpoint, ema.safetensors, loss.csv)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--max-minutes", type=float, default=float("inf"))
    parser.add_argument("--no-resume", action="store_true")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (logs only)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--shard-dir", default=None, help="also write the EMA weights as <=15 MB shards here")
    for f in dataclasses.fields(TrainConfig):
        parser.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=f.default)
    parser.add_argument("--model", default="{}", help="JSON overrides of the embedded model config "
                        "(flow_dim and text_dim default to the data's)")
    parser.add_argument("--init-from", default=None,
                        help="start from an earlier run's EMA weights (its folder) or a bundle (e.g. assets/embedded); "
                        "the latent may have gained channels")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    tc = TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)})
    from .dataset import codec_from_dataset
    with np.load(args.text[0], allow_pickle=False) as t:
        text_dim = int(t["states"].shape[-1])
    # the latent width follows the data's codec (64 mel bands, or 113 with the semitone bands)
    cfg = embedded_model_config(**{"text_dim": text_dim, "flow_dim": codec_from_dataset(args.data[0]).dim,
                                   **json.loads(args.model)})
    train(args.data, args.text, args.out, tc, cfg, device=args.device, max_minutes=args.max_minutes,
          resume=not args.no_resume, shard_dir=args.shard_dir, progress_bar=not args.quiet,
          init_from=args.init_from)


if __name__ == "__main__":
    main()
