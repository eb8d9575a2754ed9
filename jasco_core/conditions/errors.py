"""`ConditionError`: the error raised for bad user-supplied conditions (a `FieldError`).

Every problem a user can cause through a condition input (a chord text that does not parse, an
unreadable audio upload, a melody matrix of the wrong shape) is reported as a `ConditionError`
carrying the name of the offending input in ``.field`` (``"chords"``, ``"melody"``, ``"drums"``).
"""

from __future__ import annotations

from ..errors import FieldError

__all__ = ["ConditionError"]


class ConditionError(FieldError):
    """A condition input (``field``) is missing, malformed or out of limits.

    Args:
        field: which input is at fault, e.g. ``"chords"``, ``"melody"``, ``"drums"``.
        message: what is wrong and what form is expected, with an example.
    """
