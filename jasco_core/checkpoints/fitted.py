"""A model's fitted fast solver (`python -m jasco_core.solver_fit`): where it is stored and read.

A bundle folder keeps it in `bundle.json` under `fitted_solver` (the embedded model ships one).
Models whose files are not ours to change (released checkpoints in the Hub cache) keep it in
`fitted_solvers/<model>.json` of the user cache (`$JASCO_CACHE_DIR`, else `~/.cache/jasco-demo`).
An entry is `{"solver": SolverConfig fields, "guidance": {"all", "text", "null"}, "validation_rmse":
..., "fitted_on": ..., "variants": [...]}`; a bundle with none gets `None`, and the `"fast"` preset
falls back to `solvers.PRESETS["fast"]`.

A solver fitted to a model's trajectories is fitted for one guidance: the guided field's shape
changes with the weights. `guidance` names the weights it was fitted at (absent: the model's
default guidance); `variants` holds solvers fitted at other weights, each an entry of the same
form. The family (`read_fitted_family`) is what a bundle keeps; a request for the model's fitted
solver runs the member fitted nearest the request's weights (`nearest_fitted`).
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import typing as tp

from ..errors import CheckpointError, FieldError
from ..solvers import SolverConfig

__all__ = ["FITTED_KEY", "Weights", "fitted_cache_path", "read_fitted_entry", "read_fitted_family", "fitted_fields",
           "weights_of", "nearest_fitted", "add_variant", "load_user_fitted", "write_user_fitted"]

FITTED_KEY = "fitted_solver"
#: guidance weights (all, text, null)
Weights = tp.Tuple[float, float, float]
FittedFamily = tp.Tuple[tp.Tuple[Weights, SolverConfig], ...]


def fitted_cache_path(model_name: str) -> str:
    """`fitted_solvers/<model>.json` in the user cache (a repository id's `/` becomes `--`)."""
    root = os.environ.get("JASCO_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "jasco-demo")
    return os.path.join(root, "fitted_solvers", re.sub(r"[^A-Za-z0-9._-]+", "--", model_name) + ".json")


def read_fitted_entry(entry: tp.Any, source: str) -> tp.Optional[SolverConfig]:
    """The solver of a stored entry (None for none); a malformed entry raises `CheckpointError`."""
    if entry is None:
        return None
    if not isinstance(entry, dict) or "solver" not in entry:
        raise CheckpointError("model", f"{source}: {FITTED_KEY} must be an object with a 'solver' entry")
    try:
        solver = SolverConfig.from_dict(entry["solver"])
    except FieldError as e:
        raise CheckpointError("model", f"{source}: {FITTED_KEY} holds an invalid solver: {e}") from None
    if not solver.is_fixed_step:
        raise CheckpointError("model", f"{source}: {FITTED_KEY} must be a fixed-step solver, got {solver.method}")
    return solver


def _weights(value: tp.Any, source: str) -> Weights:
    if not isinstance(value, dict) or not all(isinstance(value.get(k), (int, float)) for k in ("all", "text", "null")):
        raise CheckpointError("model", f"{source}: a fitted solver's 'guidance' must be an object with numbers "
                              f"'all', 'text' and 'null', got {value!r}")
    return float(value["all"]), float(value["text"]), float(value["null"])


def read_fitted_family(entry: tp.Any, source: str, default: Weights) -> FittedFamily:
    """Every solver of a stored entry with the guidance weights it was fitted at: the entry's own
    (at `default`, the model's default weights, when it names none), then its `variants`."""
    main = read_fitted_entry(entry, source)
    if main is None:
        return ()
    family = [(_weights(entry["guidance"], source) if "guidance" in entry else tuple(map(float, default)), main)]
    variants = entry.get("variants", [])
    if not isinstance(variants, list):
        raise CheckpointError("model", f"{source}: {FITTED_KEY}.variants must be a list of fitted solvers")
    for k, variant in enumerate(variants):
        where = f"{source}: {FITTED_KEY}.variants[{k}]"
        solver = read_fitted_entry(variant, where)
        if "guidance" not in variant:
            raise CheckpointError("model", f"{where} names no 'guidance' it was fitted at")
        family.append((_weights(variant["guidance"], where), solver))
    return tuple(family)


def weights_of(guidance) -> Weights:
    """A `Guidance`'s weights as (all, text, null), the null weight derived when it is."""
    w = guidance.weights()
    return w["all"], w["text"], w["null"]


def fitted_fields(entry: tp.Any, source: str, defaults) -> dict:
    """`ModelBundle`'s `fitted_solver` and `fitted_family` from a stored entry (None: none) and the
    model's `GenerationDefaults`."""
    family = read_fitted_family(entry, source, weights_of(defaults.guidance))
    return {"fitted_solver": family[0][1] if family else None, "fitted_family": family}


def _same_solver(a: SolverConfig, b: SolverConfig) -> bool:
    return (a.method, a.steps, a.schedule, a.coefficients) == (b.method, b.steps, b.schedule, b.coefficients)


def nearest_fitted(family: FittedFamily, solver: SolverConfig, weights: Weights) -> SolverConfig:
    """`solver` itself, unless it is a member of `family` (whatever its NFE cap): then the member
    fitted at the weights nearest `weights` (Euclidean over all, text, null), with `solver`'s cap."""
    if not any(_same_solver(solver, member) for _, member in family):
        return solver
    _, best = min(family, key=lambda item: sum((a - b) ** 2 for a, b in zip(item[0], weights)))
    return best if best.max_nfe == solver.max_nfe else dataclasses.replace(best, max_nfe=solver.max_nfe)


def add_variant(entry: dict, variant: dict) -> dict:
    """`entry` with `variant` (an entry naming its `guidance`) among its variants, replacing one
    fitted at the same weights."""
    key = _weights(variant.get("guidance"), "the variant")
    kept = [v for v in entry.get("variants", []) if _weights(v.get("guidance"), "a variant") != key]
    return {**entry, "variants": [*kept, {k: v for k, v in variant.items() if k != "variants"}]}


def load_user_fitted(model_name: str) -> tp.Tuple[tp.Optional[SolverConfig], tp.Optional[dict]]:
    """The fitted solver in the user cache for a model, and its entry (None, None without one)."""
    path = fitted_cache_path(model_name)
    if not os.path.exists(path):
        return None, None
    try:
        with open(path) as f:
            entry = json.load(f)
    except (OSError, ValueError) as e:
        raise CheckpointError("model", f"{path} is not a readable JSON file: {e}") from None
    return read_fitted_entry(entry, path), entry


def write_user_fitted(model_name: str, entry: dict) -> str:
    """Store a fitted solver entry in the user cache; returns the file written."""
    import json

    read_fitted_entry(entry, "the fitted solver")
    path = fitted_cache_path(model_name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(entry, f, indent=1)
    os.replace(path + ".tmp", path)
    return path
