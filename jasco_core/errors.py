"""`FieldError`: the one type of every error a user of the library or the page can cause.

    raise FieldError("duration", "expected seconds between 0.5 and 10, got 60")

It is a `ValueError` (callers that catch `ValueError` keep working) and carries `field`, the name
of the argument or page control at fault (dotted for a part of an argument: `guidance.all`,
`solver.steps`), and `message`, what was wrong and the form that is expected. `str(err)` is
`"field: message"`. Each part of the library has its own subclass (`ConditionError`,
`GenerationError`, `GuidanceError`, `SolverConfigError`, `CheckpointError`, `CodecError`, ...), so
a caller can tell them apart, and the page turns any of them into a message next to the control.

Everything else that escapes the library is a bug.
"""
from __future__ import annotations

import math
import numbers
import typing as tp

__all__ = ["FieldError", "CheckpointError", "check_number", "check_integer", "check_bool", "check_text", "describe_value"]


class FieldError(ValueError):
    """A user-supplied value (`field`) is missing, malformed or out of range.

    Args:
        field: the argument or control at fault, e.g. ``"chords"`` or ``"solver.steps"``.
        message: what is wrong and what is expected. A leading ``"field: "`` is not repeated.

    A subclass may set `default_field`; it then also accepts the message alone.
    """

    default_field: tp.ClassVar[str] = "input"

    def __init__(self, field: str, message: tp.Optional[str] = None):
        if message is None:
            field, message = self.default_field, field
        field, message = str(field), str(message)
        if message.startswith(f"{field}: "):
            message = message[len(field) + 2:]
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")

    def __reduce__(self):  # picklable with its two arguments (worker processes, Gradio)
        return (type(self), (self.field, self.message))


class CheckpointError(FieldError):
    """A model name, path or download cannot be loaded (field `model`). Raised by the checkpoint
    loaders, the Hub access and the encoders that read model files. `code` says what kind of
    failure it is, for a UI: '' (a file or format problem), or one of the Hub's: 'offline',
    'gated' (needs a token), 'no_access' (the token is not allowed), 'missing' (no such repository
    or file), 'network', 'disk'."""

    default_field = "model"
    code: str = ""

    def __init__(self, field: str, message: tp.Optional[str] = None, code: str = ""):
        super().__init__(field, message)
        self.code = code

    def __reduce__(self):
        return (type(self), (self.field, self.message, self.code))


# -- checks used at the public boundary -----------------------------------------------------------
def describe_value(value: tp.Any) -> str:
    """A short description of a wrong value for an error message."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    if isinstance(value, (str, numbers.Number)) or value is None:
        return text
    return f"{type(value).__name__} {text}"


def check_number(field: str, value: tp.Any, lo: float = -math.inf, hi: float = math.inf, *,
                 expected: tp.Optional[str] = None, error: tp.Type[FieldError] = FieldError) -> float:
    """A finite real number in [lo, hi] (not a bool, not a string), as a float."""
    expected = expected or _range_text("a number", lo, hi)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise error(field, f"expected {expected}, got {describe_value(value)}")
    number = float(value)
    if not math.isfinite(number) or not lo <= number <= hi:
        raise error(field, f"expected {expected}, got {describe_value(value)}")
    return number


def check_integer(field: str, value: tp.Any, lo: float = -math.inf, hi: float = math.inf, *,
                  expected: tp.Optional[str] = None, error: tp.Type[FieldError] = FieldError) -> int:
    """A whole number in [lo, hi]: an int (or numpy integer); a float only when it is whole."""
    expected = expected or _range_text("a whole number", lo, hi)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise error(field, f"expected {expected}, got {describe_value(value)}")
    if not isinstance(value, numbers.Integral):
        if not math.isfinite(float(value)) or float(value) != round(float(value)):
            raise error(field, f"expected {expected}, got {describe_value(value)}")
    number = int(value)
    if not lo <= number <= hi:
        raise error(field, f"expected {expected}, got {describe_value(value)}")
    return number


def check_bool(field: str, value: tp.Any, *, error: tp.Type[FieldError] = FieldError) -> bool:
    """True or False (numpy booleans too); nothing else."""
    if isinstance(value, bool) or (type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_")):
        return bool(value)
    raise error(field, f"expected True or False, got {describe_value(value)}")


def check_text(field: str, value: tp.Any, *, allow_none: bool = True,
               error: tp.Type[FieldError] = FieldError) -> tp.Optional[str]:
    """A string (or None when allowed)."""
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        raise error(field, f"expected a string, got {describe_value(value)}")
    return value


def _range_text(kind: str, lo: float, hi: float) -> str:
    if math.isfinite(lo) and math.isfinite(hi):
        return f"{kind} from {lo:g} to {hi:g}"
    if math.isfinite(lo):
        return f"{kind} >= {lo:g}"
    if math.isfinite(hi):
        return f"{kind} <= {hi:g}"
    return f"{kind}"
