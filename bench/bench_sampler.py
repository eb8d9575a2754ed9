"""Time the guided vector field and full solves.

    python bench/bench_sampler.py [--threads 2] [--device cpu|cuda] [--precision fp32 bf16] [--sizes small released]
    python bench/bench_sampler.py --weights DIR      # DIR: model_config.json, state_dict.pt, inputs.pt

Default run: a small model and a released-size model (dim 1024, 16 heads, 24 layers, random
weights), T=500, text length 20, batch 1 -> CFG batch 3 (w_all=3, w_text=1). For each precision it
prints seconds per guided NFE, seconds and NFE of an Euler-10 and a dopri5 (rtol=atol=1e-4) solve,
peak memory, and the final-latent error against fp32. With `--weights`, one guided NFE and an
Euler-10 solve on exactly the given weights and inputs; last line `per_nfe_s=... euler10_s=...`.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import time

import torch

from jasco_core.guidance import Guidance, GuidedField, build_guided_field
from jasco_core.model import ConditionInputs, FlowMatchingModel, ModelConfig, build_model
from jasco_core.pipeline import PRECISIONS, precision_context
from jasco_core.solvers import SolverConfig, integrate

SIZES = {
    "small": dict(dim=256, num_heads=4, num_layers=8, flow_dim=64, text_dim=384, drums_latent_dim=4,
                  drums_dim=8, drums_blurring_factor=1),
    "released": dict(dim=1024, num_heads=16, num_layers=24, flow_dim=128, text_dim=768, drums_latent_dim=128),
}


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def random_inputs(cfg: ModelConfig, frames: int, text_len: int, seed: int = 0) -> ConditionInputs:
    g = torch.Generator().manual_seed(seed)
    return ConditionInputs(
        text=torch.randn(1, text_len, cfg.text_dim, generator=g), text_mask=torch.ones(1, text_len, dtype=torch.long),
        chords=torch.randint(0, cfg.chords_card, (1, frames), generator=g),
        melody=torch.zeros(1, cfg.melody_bins, frames).index_fill_(1, torch.tensor([20]), 1.0),
        drums=torch.randn(1, frames, cfg.drums_latent_dim, generator=g),
        drums_silence=torch.zeros(cfg.drums_latent_dim))


def time_nfe(field, z0, device, repeats: int, precision: str = "fp32") -> float:
    t = torch.tensor([0.5], device=device)
    with torch.inference_mode(), precision_context(device, precision):
        field(t, z0)  # warm-up
        sync(device)
        start = time.perf_counter()
        for _ in range(repeats):
            field(t, z0)
        sync(device)
    return (time.perf_counter() - start) / repeats


def time_solve(field, z0, device, config: SolverConfig, precision: str = "fp32"):
    with torch.inference_mode(), precision_context(device, precision):
        sync(device)
        start = time.perf_counter()
        res = integrate(field, z0, config)
        sync(device)
    return time.perf_counter() - start, res


def bench_size(name: str, device: torch.device, precisions, repeats: int, frames: int, text_len: int, solves: bool):
    torch.manual_seed(0)
    cfg = ModelConfig(**SIZES[name])
    base = FlowMatchingModel(cfg)
    base.init_weights()
    base.eval().requires_grad_(False)
    n_params = sum(p.numel() for p in base.parameters()) / 1e6
    inputs = random_inputs(cfg, frames, text_len)
    z0 = torch.randn(1, frames, cfg.flow_dim, generator=torch.Generator().manual_seed(1)).to(device)
    rows, ref = [], {}
    for precision in precisions:
        model = base.to(device).requires_grad_(precision != "fp32")  # see precision_context
        with torch.inference_mode():
            field = build_guided_field(model, inputs.to(device), Guidance(all=3.0, text=1.0), 1, frames)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        per_nfe = time_nfe(field, z0, device, repeats, precision)
        row = dict(size=name, params_m=n_params, precision=precision, per_nfe_s=per_nfe)
        if solves:
            for label, config in (("euler10", SolverConfig(method="euler", steps=10)),
                                  ("dopri5_1e-4", SolverConfig(method="dopri5", rtol=1e-4, atol=1e-4))):
                seconds, res = time_solve(field, z0, device, config, precision)
                row[f"{label}_s"], row[f"{label}_nfe"] = seconds, res.nfe
                if precision == "fp32":
                    ref[label] = res.z1.float()
                elif label in ref:
                    err = (res.z1.float() - ref[label]).abs().max().item() / ref[label].abs().max().item()
                    row[f"{label}_rel_err"] = err
        row["peak_mem_mb"] = peak_memory_mb(device)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def bench_weights(directory: str, device: torch.device, precision: str, repeats: int) -> None:
    with open(os.path.join(directory, "model_config.json")) as f:
        flat = json.load(f)
    state = torch.load(os.path.join(directory, "state_dict.pt"), map_location="cpu", weights_only=True)
    inputs = torch.load(os.path.join(directory, "inputs.pt"), map_location="cpu", weights_only=True)
    model = build_model(flat, state).to(device).requires_grad_(precision != "fp32")
    batch = inputs["cfg_batch"] if "cfg_batch" in inputs else inputs
    tensors = {k: (v.to(device), m.to(device)) for k, (v, m) in batch["condition_tensors"].items()}
    z0 = inputs["z0"].float().to(device)
    n_terms = len(batch.get("terms", [])) or tensors["description"][0].shape[0] // z0.shape[0]
    weights = batch.get("term_weights") or ([3.0, 1.0, -3.0][:n_terms] if n_terms == 3 else [1.0] * n_terms)
    with torch.inference_mode():
        field = GuidedField(model, model.prepare(tensors, z0.shape[1]), weights)
    per_nfe = time_nfe(field, z0, device, repeats, precision)
    euler_s, res = time_solve(field, z0, device, SolverConfig(method="euler", steps=10), precision)
    print(f"weights={directory} device={device} threads={torch.get_num_threads()} precision={precision} "
          f"terms={n_terms} B={z0.shape[0]} T={z0.shape[1]} euler10_nfe={res.nfe}")
    print(f"per_nfe_s={per_nfe:.4f} euler10_s={euler_s:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", nargs="+", default=["fp32", "bf16"], choices=list(PRECISIONS))
    parser.add_argument("--sizes", nargs="+", default=["small", "released"], choices=list(SIZES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--frames", type=int, default=500)
    parser.add_argument("--text-len", type=int, default=20)
    parser.add_argument("--no-solves", action="store_true", help="time the guided NFE only")
    parser.add_argument("--weights", help="folder with model_config.json, state_dict.pt, inputs.pt")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"# device={device} threads={torch.get_num_threads()} torch={torch.__version__}", flush=True)
    if args.weights:
        bench_weights(args.weights, device, args.precision[0], args.repeats)
        return
    rows = []
    for size in args.sizes:
        rows += bench_size(size, device, args.precision, args.repeats, args.frames, args.text_len, not args.no_solves)
    cols = ["size", "params_m", "precision", "per_nfe_s", "euler10_s", "euler10_nfe", "dopri5_1e-4_s",
            "dopri5_1e-4_nfe", "dopri5_1e-4_rel_err", "peak_mem_mb"]
    print("\n| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(_fmt(r.get(c, "")) for c in cols) + " |")
    summary = " ".join(f"{r['size']}_{r['precision']}_per_nfe_s={r['per_nfe_s']:.4f}" for r in rows)
    print(summary)


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


if __name__ == "__main__":
    main()
