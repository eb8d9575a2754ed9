"""Check this implementation against tensors produced by the original audiocraft JASCO code.

    python -m jasco_core.parity FIXTURE.pt [FIXTURE.pt ...]

A fixture (format of `config_a.pt`: see its README) holds a small random model's config and weights,
raw condition inputs, and what the original computed from them. The model is rebuilt from the
fixture's `model_config` by `build_model` — the same function the pipeline uses — and every quantity
is recomputed through the pipeline's own code (conditioners, guidance batching, solvers). One line is
printed per quantity with max abs error and relative error (max abs error / max |reference|); the
exit status is 1 when any quantity is out of tolerance (condition tensors, fields, guided fields and
Euler: 1e-4 relative; dopri5 final latents: 1e-3; NFE: equal), 2 when the fixture cannot be read.
"""
from __future__ import annotations

import argparse
import sys
import typing as tp

import torch

from .guidance import Guidance, build_guided_field, guidance_inputs
from .model import ConditionInputs, FlowMatchingModel, build_model, null_inputs
from .solvers import SolverConfig, integrate

__all__ = ["build_model", "fixture_inputs", "check_fixture", "main"]

FIELD_RTOL = 1e-4
DOPRI_RTOL = 1e-3


def fixture_inputs(model: FlowMatchingModel, fx: tp.Mapping[str, tp.Any]) -> ConditionInputs:
    """The fixture's raw inputs as `ConditionInputs` (rows = the B samples, all conditions on)."""
    inputs, cfg = fx["inputs"], model.cfg
    out = ConditionInputs(text=inputs["text_emb"].float(), text_mask=inputs["text_mask"].long())
    if cfg.chords_dim:
        out.chords = inputs["frame_chords"].long()
    if cfg.melody_dim:
        out.melody = inputs["melody_salience"].float()
    if cfg.drums_dim:
        drums = model.condition_provider.conditioners["self_wav"]
        out.drums = drums.codes_to_latents(inputs["drums_codes"])
        # The fixture's stand-in codec maps silence to code 0 (see the fixture README).
        silence_code = torch.tensor([[int(inputs.get("drums_silence_code", 0))]])
        out.drums_silence = drums.codes_to_latents(silence_code)[0, 0]
    return out


class Report:
    def __init__(self):
        self.failures = 0
        self.lines: tp.List[str] = []

    def tensor(self, name: str, ours: torch.Tensor, ref: torch.Tensor, rtol: float) -> None:
        if ours.shape != ref.shape:
            self._line(name, f"shape {tuple(ours.shape)} != reference {tuple(ref.shape)}", ok=False)
            return
        err = (ours.double() - ref.double()).abs().max().item() if ref.numel() else 0.0
        scale = ref.double().abs().max().item() if ref.numel() else 0.0
        rel = err / scale if scale > 0 else err
        self._line(name, f"max_abs={err:.3e} rel={rel:.3e} (tol {rtol:g})", ok=rel <= rtol)

    def equal(self, name: str, ours, ref) -> None:
        self._line(name, f"ours={ours} reference={ref}", ok=ours == ref)

    def _line(self, name: str, text: str, ok: bool) -> None:
        self.failures += not ok
        line = f"{'ok  ' if ok else 'FAIL'} {name:<48} {text}"
        self.lines.append(line)
        print(line, flush=True)


def _compare_tensors(report: Report, prefix: str, ours, ref) -> None:
    for key in sorted(ref):
        if key not in ours:
            report._line(f"{prefix}.{key}", "missing in our condition tensors", ok=False)
            continue
        report.tensor(f"{prefix}.{key}", ours[key][0], ref[key][0], FIELD_RTOL)
        report.tensor(f"{prefix}.{key}.mask", ours[key][1].float(), ref[key][1].float(), 0.0)


def check_fixture(fx: tp.Mapping[str, tp.Any]) -> Report:
    report = Report()
    model = build_model(fx["model_config"], fx["state_dict"])
    B, T = int(fx["B"]), int(fx["T"])
    z0 = fx["z0"].float()
    inputs = fixture_inputs(model, fx)
    provider = model.condition_provider

    if model.cfg.drums_dim and "drums_latents_blurred" in fx["inputs"]:
        blurred = provider.conditioners["self_wav"].temporal_blur(inputs.drums)
        report.tensor("inputs.drums_latents_blurred", blurred, fx["inputs"]["drums_latents_blurred"], FIELD_RTOL)

    # condition tensors, each term computed alone
    _compare_tensors(report, "condition_tensors_full", provider(inputs, B, T), fx["condition_tensors_full"])
    text_alone = null_inputs(model.cfg, inputs, model.cfg.text_term_drops)
    _compare_tensors(report, "condition_tensors_text_only_alone", provider(text_alone, B, T),
                     fx["condition_tensors_text_only_alone"])
    null_text = fx["inputs"].get("null_text_t5_emb")
    null_alone = null_inputs(model.cfg, inputs, ("description", *model.cfg.temporal_conditions))
    if null_text is not None:  # "" tokenises to one token on its own
        null_alone.text = null_text.float().reshape(1, 1, -1).expand(B, 1, -1)
        null_alone.text_mask = torch.zeros(B, 1, dtype=torch.long)
    _compare_tensors(report, "condition_tensors_null_alone", provider(null_alone, B, T), fx["condition_tensors_null_alone"])

    # the batched guidance inputs [all; text; null]
    terms = [name.replace("CFGTerm", "").lower() for name in fx["cfg_batch"]["terms"]]
    batched = provider(guidance_inputs(model, inputs, terms), B * len(terms), T)
    _compare_tensors(report, "cfg_batch", batched, fx["cfg_batch"]["condition_tensors"])

    # raw fields of every term at latents z0
    for key, ref in fx["raw_fields"].items():
        t = torch.tensor([float(ref["t"])])
        v = model(z0.repeat(len(terms), 1, 1), t, batched).chunk(len(terms))
        for name, vi in zip(terms, v):
            report.tensor(f"raw_fields[t={key}].v_{name}", vi, ref[f"v_{name}"], FIELD_RTOL)

    # guided fields for each weight setting
    for g in fx["guided"]:
        field = build_guided_field(model, inputs, Guidance(all=g["w_all"], text=g["w_txt"]), B, T)
        for key, ref in g["fields"].items():
            v = field(torch.tensor([float(key)]), z0)
            report.tensor(f"guided(w_all={g['w_all']:g},w_txt={g['w_txt']:g})[t={key}]", v, ref, FIELD_RTOL)

    # solves
    for e in fx["euler"]:
        field = build_guided_field(model, inputs, Guidance(all=e["w_all"], text=e["w_txt"]), B, T)
        res = integrate(field, z0, SolverConfig(method="euler", steps=int(e["steps"])))
        name = f"euler(w_all={e['w_all']:g},w_txt={e['w_txt']:g},steps={e['steps']})"
        report.tensor(f"{name}.z1", res.z1, e["z1"], FIELD_RTOL)
        report.equal(f"{name}.nfe", res.nfe, int(e["nfe"]))
        report.tensor(f"{name}.t_evals", torch.tensor(res.t_evals), torch.as_tensor(e["t_evals"]).float().flatten(), FIELD_RTOL)
    for d in fx["dopri5"]:
        field = build_guided_field(model, inputs, Guidance(all=d["w_all"], text=d["w_txt"]), B, T)
        t_span = [float(x) for x in torch.as_tensor(d.get("t_span", [0.0, 1 - 1e-5])).flatten()]
        cfg = SolverConfig(method=d.get("method", "dopri5"), rtol=float(d.get("rtol", 1e-5)),
                           atol=float(d.get("atol", 1e-5)), t_end=t_span[-1])
        res = integrate(field, z0, cfg)
        name = f"{cfg.method}(w_all={d['w_all']:g},w_txt={d['w_txt']:g})"
        report.tensor(f"{name}.z1", res.z1, d["z1"], DOPRI_RTOL)
        report.equal(f"{name}.nfe", res.nfe, int(d["nfe"]))
    return report


def main(argv: tp.Optional[tp.Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jasco_core.parity", description=__doc__.split("\n\n")[0])
    parser.add_argument("fixtures", nargs="+", help="parity fixture files (format of config_a.pt)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as the fixtures)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    failures = 0
    for path in args.fixtures:
        try:
            fx = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # unreadable or unsafe file: a clear message, not a traceback
            print(f"cannot read fixture {path}: {exc}", file=sys.stderr)
            return 2
        print(f"# {path}: config {fx.get('config_name', '?')}, B={fx['B']} T={fx['T']} D={fx['D']}")
        with torch.no_grad():
            report = check_fixture(fx)
        print(f"# {path}: {len(report.lines) - report.failures} ok, {report.failures} out of tolerance")
        failures += report.failures
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
