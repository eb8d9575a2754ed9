"""What each browser session's request is doing, for the Stop button and the status line.

- `CancelFlags`: a Stop request per browser session, and the state of its current request;
  `SolveProgress` (in `demo.runtime`) checks the flag at every field evaluation and raises
  `Stopped`, so Stop interrupts a solve already running (Gradio's own cancel only stops waiting
  for it), and records where the solve is (`StopCheck.at`).
- `page_errors`: around a request's work, a `FieldError` becomes a `gr.Error` against its control,
  a Stop the 'stopped' message, and the request's state records how it ended.
- `stop` / `stop_status`: the status line after Stop ('Stopping…', then 'Stopped at NFE 12,
  t = 0.438.'; 'Nothing to stop' on an idle page); `begin`: a run of the page is about to start.
"""
from __future__ import annotations

import contextlib
import threading
import typing as tp

import gradio as gr

from jasco_core.errors import FieldError

from .inputs import user_error


class Stopped(Exception):
    """Raised inside the solver's progress callback when the user pressed Stop."""


def stopped_error() -> gr.Error:
    return gr.Error("The generation was stopped.", title="Stopped", print_exception=False)


@contextlib.contextmanager
def page_errors(run: tp.Optional["StopCheck"] = None):
    """Around a request's work: a `FieldError` becomes a `gr.Error` against its control, a Stop
    the 'stopped' message. `run` (the request's `StopCheck`) is told how the work ended."""
    try:
        yield
    except FieldError as err:
        error = user_error(err)
        if run is not None:
            run.finish(error=err.message if err.message.startswith(f"{err.field}:") else f"{err.field}: {err.message}")
        raise error from None
    except Stopped:
        if run is not None:
            run.finish(stopped=True)
        raise stopped_error() from None
    except BaseException:
        if run is not None:
            run.finish(error="the run failed")
        raise
    if run is not None:
        run.finish()


NOTHING_TO_STOP = "Nothing to stop: no run is in progress."
STOPPING = "Stopping\u2026"


class _Run:
    """One request's state, for the Stop button's status line: where its solve is, how it ended."""

    def __init__(self):
        self.where: tp.Optional[str] = None     # 'NFE 12, t = 0.438' (with the window or run)
        self.outcome: tp.Optional[str] = None   # None while running; 'stopped', 'done' or 'error'
        self.error = ""
        self.ended = threading.Event()


class CancelFlags:
    """Stop requests per browser session, and what each session's current request is doing
    (thread-safe). `stop` asks the running solve to stop; `stop_status` waits until it has."""

    def __init__(self):
        self._flags: tp.Dict[str, bool] = {}
        self._runs: tp.Dict[str, _Run] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(request: tp.Optional[gr.Request]) -> str:
        return getattr(request, "session_hash", None) or "local"

    def set(self, key: str) -> None:
        with self._lock:
            self._flags[key] = True

    def clear(self, key: str) -> None:
        with self._lock:
            self._flags.pop(key, None)

    def is_set(self, key: str) -> bool:
        with self._lock:
            return self._flags.get(key, False)

    def start(self, request: tp.Optional[gr.Request]) -> "StopCheck":
        """A new request of this session: clear its flag; returns 'has Stop been pressed since?'."""
        key = self.key(request)
        run = _Run()
        with self._lock:
            self._flags.pop(key, None)
            self._runs[key] = run
        return StopCheck(self, key, run)

    def running(self, key: str) -> bool:
        with self._lock:
            run = self._runs.get(key)
        return run is not None and run.outcome is None

    def stop(self, request: tp.Optional[gr.Request] = None) -> str:
        """Stop pressed: flag this session's running solve (it stops at its next field
        evaluation); the status line's text ('Stopping…', or that nothing runs)."""
        key = self.key(request)
        if not self.running(key):
            return NOTHING_TO_STOP
        self.set(key)
        return STOPPING

    def stop_status(self, request: tp.Optional[gr.Request] = None, timeout: float = 10.0) -> str:
        """After `stop`: wait (at most `timeout` s) until the session's request has ended and say
        where it stopped: 'Stopped at NFE 12, t = 0.438' (with the window of a long clip or the
        run of a comparison)."""
        key = self.key(request)
        with self._lock:
            run = self._runs.get(key)
        if run is None or not self.is_set(key):
            return NOTHING_TO_STOP
        if not run.ended.wait(timeout):
            return f"{STOPPING} (the solve stops at its next evaluation)"
        where = f" at {run.where}" if run.where else ""
        if run.outcome == "stopped":
            return f"Stopped{where}."
        if run.outcome == "error":
            return f"Stopped: {run.error}"
        return f"Stopped after the solve had finished{where}; its results were not shown."

    def outcome(self, request: tp.Optional[gr.Request] = None) -> tp.Tuple[tp.Optional[str], str]:
        """How this session's last request ended: ('done' | 'stopped' | 'error' | None, error text)."""
        with self._lock:
            run = self._runs.get(self.key(request))
        return (run.outcome, run.error) if run is not None else (None, "")

    def __getstate__(self):  # a snapshot (a ZeroGPU worker gets a copy); locks do not pickle
        with self._lock:
            return {"_flags": dict(self._flags)}

    def __setstate__(self, state):
        self._flags, self._runs, self._lock = state["_flags"], {}, threading.Lock()


class StopCheck:
    """'Has Stop been pressed for this session since the request began?' (pickles, unlike a
    lambda). `at` records where the solve is; `finish` how the request ended."""

    def __init__(self, flags: CancelFlags, key: str, run: tp.Optional[_Run] = None):
        self.flags, self.key, self.run = flags, key, run

    def __call__(self) -> bool:
        return self.flags.is_set(self.key)

    def at(self, where: str) -> None:
        if self.run is not None:
            self.run.where = where

    def finish(self, stopped: bool = False, error: str = "") -> None:
        if self.run is not None and self.run.outcome is None:
            self.run.outcome, self.run.error = ("stopped" if stopped else "error" if error else "done"), error
            self.run.ended.set()

    def __getstate__(self):
        return {"flags": self.flags, "key": self.key}

    def __setstate__(self, state):
        self.flags, self.key, self.run = state["flags"], state["key"], None


def begin(flags: CancelFlags, request: tp.Optional[gr.Request]) -> None:
    """A run is about to start (the page cleared its outputs): forget how the last one ended."""
    with flags._lock:
        flags._runs.pop(flags.key(request), None)
        flags._flags.pop(flags.key(request), None)

