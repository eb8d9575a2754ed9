"""A model's fitted fast solver (`python -m jasco_core.solver_fit`): where it is stored and read.

A bundle folder keeps it in `bundle.json` under `fitted_solver` (the embedded model ships one).
Models whose files are not ours to change (released checkpoints in the Hub cache) keep it in
`fitted_solvers/<model>.json` of the user cache (`$JASCO_CACHE_DIR`, else `~/.cache/jasco-demo`).
An entry is `{"solver": SolverConfig fields, "validation_rmse": ..., "fitted_on": ..., ...}`; a
bundle with none gets `None`, and the `"fast"` preset falls back to `solvers.PRESETS["fast"]`.
"""
from __future__ import annotations

import json
import os
import re
import typing as tp

from ..errors import CheckpointError, FieldError
from ..solvers import SolverConfig

__all__ = ["FITTED_KEY", "fitted_cache_path", "read_fitted_entry", "load_user_fitted", "write_user_fitted"]

FITTED_KEY = "fitted_solver"


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
