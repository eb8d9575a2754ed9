"""jasco_core: JASCO-style text-to-music generation by flow matching.

    import jasco_core as j
    pipe = j.load_pipeline("embedded")
    result = pipe.generate("mellow jazz piano with brushed drums", chords="C:0 Am:2.5 F:5 G:7.5", seed=0)

Public names are imported lazily so that `import jasco_core` stays fast for the CLI and tests.
"""
from __future__ import annotations

import importlib
import typing as tp

_EXPORTS = {
    "load_pipeline": "jasco_core.pipeline",
    "unload_pipeline": "jasco_core.pipeline",
    "Pipeline": "jasco_core.pipeline",
    "GenerationResult": "jasco_core.pipeline",
    "FieldError": "jasco_core.errors",
    "compare_solvers": "jasco_core.compare",
    "Guidance": "jasco_core.guidance",
    "SolverConfig": "jasco_core.solvers",
    "integrate": "jasco_core.solvers",
    "ModelConfig": "jasco_core.model",
    "FlowMatchingModel": "jasco_core.model",
    "build_model": "jasco_core.model",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> tp.Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'jasco_core' has no attribute {name!r}")
