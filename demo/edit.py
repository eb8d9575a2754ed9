"""The Edit tab's events: repaint a region of a clip, or extend it, with new conditions.

`EditHandlers` shares the page's model menu, download store and Stop flags (`DemoHandlers.edit`).
`repaint` and `extend` read the clip with `inputs.edit_audio` (the page's 120 s limit checked
before the model runs), call `Pipeline.repaint` / `Pipeline.extend` through `runtime.edit` (Stop,
progress across windows, ZeroGPU), and return the clip before and after, a figure of both with
the edited part shaded, the stats, the WAV and JSON downloads, the seed used and a status line.
Their parameters (names and defaults) are the `/repaint` and `/extend` API (`REPAINT_PARAMS`,
`EXTEND_PARAMS`): every one has a default but the clip and the region (`start`, `end`). Condition
times (chords, drums, melody) count from the start of the returned clip.
"""
from __future__ import annotations

import os
import time
import typing as tp

import gradio as gr


from . import inputs as I
from . import outputs as O
from . import plots
from . import runtime as R
from .inputs import MIN_EXTEND, UIDefaults

__all__ = ["EditHandlers", "MODES", "REPAINT_PARAMS", "EXTEND_PARAMS"]

MODES = ("Repaint region", "Extend")
# the parameters both edits share after the clip and region, in order
_SHARED = ("text", "chords", "drums", "melody", "bpm", "meter", *I.SAMPLING_PARAMS, "seed", "random_seed", "model")


class EditHandlers:
    """The Edit tab's events (see the module docstring)."""

    def __init__(self, models, outputs: O.OutputStore, cancel: R.CancelFlags):
        self.models, self.outputs, self.cancel = models, outputs, cancel

    def repaint(self, audio, start: float, end: float, text: str = "", chords: str = "", drums=None, melody=None,
                bpm: float = 120.0, meter: str = "4/4", w_all: float = None, w_text: float = None,
                null_auto: bool = None, w_null: float = None, solver: str = None, steps: int = None,
                schedule: str = None, log10_rtol: float = None, log10_atol: float = None, max_nfe: int = None, seed: int = 0,
                random_seed: bool = True, model: str = None, request: gr.Request = None, progress=gr.Progress()):
        """Regenerate [start, end) seconds of `audio` and keep the rest.

        `audio`: a file (`handle_file(path)`), up to 120 s. The result has the clip's length at the
        model's sample rate; outside the region it is the clip itself, joined to the new music by
        50 ms crossfades. The other arguments are those of `/generate` (model defaults when left
        out). Returns the clip before and after, a figure, a stats table, the WAV and JSON
        downloads, the seed used and a status line.
        """
        scope = locals()
        values = {name: scope[name] for name in _SHARED}
        return self._run("repaint", audio, dict(start=start, end=end), values, request, progress)

    def extend(self, audio, seconds: float = None, text: str = "", chords: str = "", drums=None, melody=None,
               bpm: float = 120.0, meter: str = "4/4", w_all: float = None, w_text: float = None,
               null_auto: bool = None, w_null: float = None, solver: str = None, steps: int = None,
               schedule: str = None, log10_rtol: float = None, log10_atol: float = None, max_nfe: int = None, seed: int = 0,
               random_seed: bool = True, model: str = None, request: gr.Request = None, progress=gr.Progress()):
        """`audio` followed by `seconds` of new music that continues it (the result at most 120 s;
        `seconds` None: the model's default clip length). Returns what `/repaint` returns.
        """
        scope = locals()
        values = {name: scope[name] for name in _SHARED}
        return self._run("extend", audio, dict(seconds=seconds), values, request, progress)

    def _run(self, kind: str, audio, region: tp.Dict[str, tp.Any], v: tp.Dict[str, tp.Any],
             request: tp.Optional[gr.Request], progress):
        started = time.perf_counter()
        stopped = self.cancel.start(request)
        with R.page_errors(stopped):
            ref = self.models.use(v["model"], progress)
            pipe = ref.pipeline
            d = UIDefaults.from_pipeline(pipe, ref.name)
            args = I.request_args(v["text"], v["chords"], v["drums"], v["melody"], None, v["bpm"], v["meter"],
                                  v["seed"], v["random_seed"])
            guidance, solver_cfg = I.sampling(d, *(v[name] for name in I.SAMPLING_PARAMS))
            limit = d.max_duration - (MIN_EXTEND if kind == "extend" else 0.0)
            samples, rate = I.edit_audio(audio, pipe.sample_rate, limit)
            given = len(samples) / rate
            if kind == "extend":
                seconds = d.duration if region["seconds"] is None else region["seconds"]
                region = dict(seconds=I.extend_seconds(seconds, given, d.max_duration))
            report = R.SolveProgress(progress, stopped, solver_cfg.end_time)
            progress(0.0, desc="encoding the clip, the prompt and the conditions")
            result, _ = R.edit(ref, kind, dict(args, audio=(samples, rate), **region, guidance=guidance,
                                               solver=solver_cfg, progress=report))
        progress(1.0, desc="writing audio and drawing")

        if kind == "repaint":
            span = (float(region["start"]), float(region["end"]))
            what = f"repainted {span[0]:g}\u2013{span[1]:g} s of a {given:.2f} s clip"
        else:
            span = (given, given + region["seconds"])
            what = f"extended a {given:.2f} s clip by {region['seconds']:g} s"
        stem = f"jasco_{kind}_seed{result.seed}"
        with self.outputs.request_dir() as folder:
            before, = O.write_wavs(folder, [f"{stem}_input"], samples[None], rate)
            after, = O.write_wavs(folder, [stem], result.audio[:1], result.sample_rate)
            replay = O.replay_edit_inputs(audio, region, args, guidance, solver_cfg, result, ref.name)
            record = O.write_record(os.path.join(folder, f"{stem}_parameters.json"), result, replay, [after])
        figure = plots.edit_figure(samples, result.audio[0], result.sample_rate, span, what)
        total = time.perf_counter() - started
        rows = ([["end-to-end seconds (server)", f"{total:.2f}"], ["edit", what]]
                + O.stats_rows(result, pipe.name, solver_cfg, guidance) + O.window_rows(result, pipe.frame_rate))
        status = (f"Done in {total:.1f} s \u00b7 {what} \u00b7 {result.nfe} NFE{O.in_windows(result)} \u00b7 seed "
                  f"{result.seed}" + (" (random)" if args["seed"] is None else "")
                  + (f" \u00b7 {len(result.warnings)} warning(s), see the table" if result.warnings else ""))
        return before, after, figure, rows, [after, record], result.seed, status

    # -- small UI updates -----------------------------------------------------------------------
    @staticmethod
    def player_labels(before=None, after=None):
        """After an edit: the players labelled with their clip's length and rate ('After · 3.00 s
        · 22050 Hz')."""
        updates = []
        for name, path in (("Before", before), ("After", after)):
            facts = O.audio_facts(path)
            updates.append(gr.update(label=name) if facts is None else
                           gr.update(label=f"{name} \u00b7 {facts[0]:.2f} s \u00b7 {facts[1]} Hz"))
        return tuple(updates)

    @staticmethod
    def use_audio(value=None):
        """'Use the last output' / 'Edit the result again': that player's clip becomes the input."""
        if not value:
            raise I.field_error("audio", "there is no clip there yet: press Generate first, or upload a clip")
        return value

    def length(self, audio=None, mode: str = MODES[0], seconds: float = None, start: float = None,
               end: float = None):
        """A clip chosen, or the mode or the extension changed: (the result's length, which the
        previews span; a note with both lengths; start and end, suggested as the middle third of
        the clip when they are empty or past its end, else left as they are)."""
        given = I.audio_seconds(audio)
        if given is None:
            return gr.skip(), "", gr.skip(), gr.skip()
        total = given
        if mode == MODES[1]:
            try:
                total = given + float(seconds)
            except (TypeError, ValueError):
                pass
        note = f"The clip is {given:.2f} s long; the result will be {total:.2f} s."
        try:
            fits = 0 <= float(start) < float(end) <= given
        except (TypeError, ValueError):
            fits = False
        region = (gr.skip(), gr.skip()) if fits else (round(given / 3, 1), round(2 * given / 3, 1))
        return (round(total, 3), note, *region)

    @staticmethod
    def mode_controls(mode: str = MODES[0]):
        """Repaint: the region and its Generate button; extend: the seconds and theirs."""
        repaint = mode != MODES[1]
        return (gr.update(visible=repaint), gr.update(visible=not repaint), gr.update(visible=repaint),
                gr.update(visible=not repaint))


REPAINT_PARAMS = I.api_params(EditHandlers.repaint)
EXTEND_PARAMS = I.api_params(EditHandlers.extend)
