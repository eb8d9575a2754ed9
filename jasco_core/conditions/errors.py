"""The one exception type raised for bad user-supplied conditions.

Every problem a user can cause through a condition input (a chord text that
does not parse, an unreadable audio upload, a melody matrix of the wrong shape)
is reported as a :class:`ConditionError`.  It subclasses :class:`ValueError` so
generic callers can still catch it, and it carries the name of the offending
input in ``.field`` so a UI can show the message next to the right widget.
"""

from __future__ import annotations

__all__ = ["ConditionError"]


class ConditionError(ValueError):
    """A condition input (``field``) is missing, malformed or out of limits.

    Args:
        field: which input is at fault, e.g. ``"chords"``, ``"melody"``, ``"drums"``.
        message: what is wrong and what form is expected, with an example.
    """

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")

    def __reduce__(self):  # keep the two-argument constructor picklable
        return (type(self), (self.field, self.message))
