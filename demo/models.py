"""The model menu: which models the page offers, in what state, and switching between them.

`ModelMenu` loads the model named at start and lists it first, then every model that
`jasco_core.checkpoints.model_status()` knows of with its state: *ready* (on disk), *downloads
N GB on first use*, or *unavailable* with why (offline, gated without a token, not on the Hub).
Asking the Hub for those states never stops the page from starting: a failure or a Hub that does
not answer within `STATUS_TIMEOUT` seconds makes the models that would need it unavailable, with
the reason.

`ModelMenu.use(name, progress)` returns the current model, switching first when `name` is another
one: unavailable or unknown names are refused (`FieldError`, field 'model'), the new model is
loaded with its download on the page's progress bar, and only once it has loaded does it become
the current model and the previous one is freed (`unload_pipeline`). A failed load raises the
library's `CheckpointError` and leaves the previous model current. The model loaded at start is
never freed: it is the one the Space was sized for (`JASCO_MODEL`) and the page's defaults come
from it, a failed or abandoned switch can always fall back on it at no cost, and on ZeroGPU its
weights were packed at start, which freeing it in Python would not release.

The current model is one per process (one model is held on the accelerator at a time), so every
visitor's requests name their model and a request for another one switches first.
"""
from __future__ import annotations

import dataclasses
import html
import logging
import os
import re
import threading
import typing as tp

from jasco_core.errors import FieldError
from jasco_core.pipeline import Pipeline, unload_pipeline

from .runtime import DownloadProgress, ModelRef, format_bytes, load_model

logger = logging.getLogger(__name__)

STATUS_TIMEOUT = 30.0   # seconds the page waits at start for the Hub to say what each model needs
READY, DOWNLOAD, UNAVAILABLE = "ready", "download", "unavailable"

# words of the library's reasons -> a few words for the menu (the full reason is listed below it)
_SHORT_REASONS = (
    ("cannot be accessed", "not found, gated or unreachable"),
    ("failed (", "the Hub could not be reached"),
    ("could not be reached", "the Hub could not be reached"),
    ("did not answer", "the Hub did not answer"),
    ("HF_HUB_OFFLINE=1 forbids", "offline (HF_HUB_OFFLINE=1)"),
    ("and HF_HUB_OFFLINE=1", "offline (HF_HUB_OFFLINE=1)"),
    ("has no access", "gated: this token has no access"),
    ("is gated", "gated: needs HF_TOKEN"),
    ("refused access", "access refused: check HF_TOKEN"),
    ("missing from", "missing"),
)


# the library's reason codes (`CheckpointError.code`, `ModelStatus.code`) -> a few words for the menu
_SHORT_CODES = {"offline": "offline (HF_HUB_OFFLINE=1)", "gated": "gated: needs HF_TOKEN",
                "no_access": "gated: this token has no access", "missing": "not on the Hub",
                "network": "the Hub could not be reached", "disk": "not enough disk space"}


def plain(text: str) -> str:
    """A reason as plain text for a toast, where Markdown is not rendered: `code` and *stress*
    marks dropped."""
    return re.sub(r"(?<!\w)[*_]{1,2}(\S(?:.*?\S)?)[*_]{1,2}(?!\w)", r"\1", text.replace("`", ""))


def short_reason(reason: str, code: str = "") -> str:
    """A few words for the menu from a library reason ('gated: needs HF_TOKEN'): from its code
    when it has one, else from its words."""
    if code in _SHORT_CODES:
        return _SHORT_CODES[code]
    for words, short in _SHORT_REASONS:
        if words in reason:
            return short
    if re.match(r"^no (model|codec|text encoder) \S+ at ", reason):
        return "not on the Hub"
    first = reason.split(". ")[0].strip()
    return first if len(first) <= 60 else first[:57].rstrip() + "..."


@dataclasses.dataclass(frozen=True)
class ModelChoice:
    """One entry of the menu."""

    value: str                           # what `load_pipeline` takes
    display: str                         # the name shown
    state: str                           # READY | DOWNLOAD | UNAVAILABLE
    reason: str = ""
    download_bytes: tp.Optional[int] = None
    code: str = ""                       # the library's reason code, when unavailable

    @property
    def available(self) -> bool:
        return self.state != UNAVAILABLE

    @property
    def summary(self) -> str:
        """'ready', 'downloads 1.40 GB on first use' or 'unavailable: gated: needs HF_TOKEN'."""
        if self.state == READY:
            return "ready"
        if self.state == DOWNLOAD:
            size = format_bytes(self.download_bytes) if self.download_bytes else "its files"
            return f"downloads {size} on first use"
        return f"unavailable: {short_reason(self.reason, self.code)}"

    def label(self, current: bool = False) -> str:
        return f"{self.display} \u00b7 {'loaded' if current else self.summary}"


def read_states(timeout: float = STATUS_TIMEOUT) -> list:
    """`checkpoints.model_status(ask_hub=True)`, or, when that fails or takes longer than
    `timeout` seconds, the local states with the models that need the Hub unavailable (and why).
    Never raises."""
    from jasco_core import checkpoints

    box: tp.Dict[str, tp.Any] = {}

    def ask():
        try:
            box["states"] = checkpoints.model_status(ask_hub=True)
        except Exception as err:  # noqa: BLE001 -- the page starts whatever the Hub does
            box["error"] = err

    worker = threading.Thread(target=ask, name="jasco-model-states", daemon=True)
    worker.start()
    worker.join(timeout)
    if "states" in box:
        return box["states"]
    why = (f"the Hub did not answer within {timeout:g} s" if worker.is_alive()
           else f"the Hub could not be reached ({type(box['error']).__name__}: {box['error']})")
    logger.warning("model states: %s; listing the local cache only", why)
    try:
        local = checkpoints.model_status(ask_hub=False)
    except Exception as err:  # noqa: BLE001
        logger.warning("cannot list the models: %s", err)
        return []
    return [dataclasses.replace(s, state=UNAVAILABLE, reason=f"{s.reason}; {why}", code="network") if s.state == DOWNLOAD else s
            for s in local]


class ModelMenu:
    """The models the page offers and the current one (see the module docstring).

    Args:
        start: the model loaded now and never freed ('embedded', a folder, a released name).
        loader: `loader(name, progress=None) -> Pipeline` (default `runtime.load_model`).
        unloader: frees a pipeline that is no longer current (default `unload_pipeline`).
        states: the models' states (default `read_states()`).
    """

    def __init__(self, start: str, loader: tp.Callable[..., Pipeline] = load_model,
                 unloader: tp.Callable[[Pipeline], None] = unload_pipeline, states: tp.Optional[list] = None):
        self._loader, self._unloader = loader, unloader
        self._lock = threading.Lock()
        self.start = ModelRef(start, loader(start))
        self.current = self.start
        self._speeds = {start: self.start.speed}  # measurements survive a switch away and back
        pipe = self.start.pipeline
        display = f"{pipe.name} (local bundle)" if os.path.exists(os.path.expanduser(start)) else start
        self.choices: tp.List[ModelChoice] = [ModelChoice(start, display, READY)]
        for s in read_states() if states is None else states:
            if s.name != start:
                self.choices.append(ModelChoice(s.name, s.name, s.state, str(s.reason or ""), s.download_bytes,
                                                getattr(s, "code", "")))

    @property
    def pipeline(self) -> Pipeline:
        return self.current.pipeline

    def menu(self) -> tp.List[tp.Tuple[str, str]]:
        """(label, value) of every model that can be chosen, the current model marked 'loaded'
        (the unavailable ones are listed by `unavailable`, not offered)."""
        return [(c.label(c.value == self.current.name), c.value) for c in self.choices
                if c.available or c.value == self.current.name]

    def menu_info(self) -> str:
        """The menu's help line: downloads on first use, and how many models are unavailable."""
        missing = sum(not c.available for c in self.choices)
        return "released models download on first use" + (
            f"; {missing} unavailable model{'s are' if missing > 1 else ' is'} listed on the right" if missing else "")

    def choice(self, value: str) -> ModelChoice:
        found = next((c for c in self.choices if c.value == value), None)
        if found is None:
            known = ", ".join(repr(c.value) for c in self.choices)
            raise FieldError("model", f"unknown model {value!r}; expected one of {known}")
        return found

    def use(self, value: tp.Optional[str], progress: tp.Optional[tp.Callable] = None) -> ModelRef:
        """The model named `value` (None or '': the current one), switched to first if needed.
        `progress` is a `gr.Progress` (or anything called as `progress(fraction, desc=...)`)."""
        current = self.current
        if value in (None, "", current.name):  # the current model: no waiting behind a switch
            return current
        with self._lock:  # one switch at a time
            if value == self.current.name:  # another request switched to it meanwhile
                return self.current
            choice = self.choice(value)
            if not choice.available:
                raise FieldError("model", f"{value!r} is unavailable: {plain(choice.reason)}; choose another model")
            if value == self.start.name:
                new = self.start
            else:
                report = DownloadProgress(progress, choice.display) if progress is not None else None
                if report is not None:
                    report.loading()
                pipe = self._loader(value, progress=report)  # raises: the current model stays as it is
                new = ModelRef(value, pipe, self._speeds.get(value))
                self._speeds[value] = new.speed
            previous, self.current = self.current, new
            if previous is not self.start:
                self._unloader(previous.pipeline)
            self.choices = [dataclasses.replace(c, state=READY, reason="loaded once here", download_bytes=None)
                            if c.value == value and c.state != READY else c for c in self.choices]
            logger.info("model switched: %s -> %s", previous.name, value)
            return new

    def unavailable(self) -> str:
        """Markdown list of the models that cannot be chosen, and why ('' if none)."""
        return "\n".join(f"- *{html.escape(c.value, quote=False)}*: {html.escape(c.reason, quote=False)}"
                         for c in self.choices if not c.available)

