"""What the demo's events do: one method per event, UI values -> library call -> what the page shows.

`DemoHandlers` owns the loaded model (loaded once, when the demo is built). Each event method
reads its UI values with `demo.inputs`, calls `jasco_core` (through `demo.runtime`, which adds the
Stop button, the progress bar and ZeroGPU), and shapes the result with `demo.outputs` and
`demo.plots`. A `FieldError` from any of them becomes a `gr.Error` naming the control at fault;
the server keeps serving.

The parameters of `generate` and `compare` (names and defaults) are the `/generate` and
`/compare` API: `GENERATE_PARAMS` and `COMPARE_PARAMS` list them in order. The Edit tab's events
are `self.edit` (`demo.edit.EditHandlers`: `/repaint`, `/extend`). `page_updates` returns what
follows the current model, in the order of `PAGE_UPDATES` (the outputs of `/select_model`).
"""
from __future__ import annotations

import html
import os
import time
import typing as tp

import gradio as gr
import numpy as np

from jasco_core.adherence import detections
from jasco_core.errors import FieldError
from jasco_core.pipeline import Pipeline, unload_pipeline

from . import cost
from . import inputs as I
from . import outputs as O
from . import music_plots, plots, solve_plots
from . import runtime as R
from .edit import EditHandlers
from .inputs import MAX_COMPARE_RUNS, MAX_SAMPLE_PLAYERS, MIN_DURATION, SAMPLING_PARAMS, W_ALL_RANGE, W_TEXT_RANGE, UIDefaults
from .models import ModelMenu

__all__ = ["DemoHandlers", "GENERATE_PARAMS", "COMPARE_PARAMS", "PAGE_UPDATES", "MAX_SAMPLE_PLAYERS", "MAX_COMPARE_RUNS"]

# what follows the model on a switch, '<tab>.<control>' (the outputs of `/select_model`, in order)
PAGE_UPDATES = ("model", "info", "generate.duration", "compare.duration", "edit.seconds", "generate.note",
                "compare.note", "edit.note", *(f"generate.{name}" for name in SAMPLING_PARAMS),
                "compare.w_all", "compare.w_text", "compare.max_nfe", *(f"edit.{name}" for name in SAMPLING_PARAMS))


class DemoHandlers:
    """The demo's event handlers around a model menu whose start model is loaded now.

    Args:
        model: 'embedded', a bundle folder or a released checkpoint name; loaded now, never freed.
        loader: `loader(name, progress=None) -> Pipeline` (default `runtime.load_model`, cached).
        unloader: frees a model the menu switched away from (default `unload_pipeline`).
        states: the menu's model states (default: `models.read_states()`, which asks the Hub).
        output_dir: where per-request downloads go (default: a folder in the system temp dir).
        warm_up: do the first request's one-off work now (`runtime.warm_up`).
    """

    def __init__(self, model: str = "embedded", *, loader: tp.Callable[..., Pipeline] = R.load_model,
                 unloader: tp.Callable[[Pipeline], None] = unload_pipeline, states: tp.Optional[list] = None,
                 output_dir: tp.Optional[str] = None, keep_outputs: int = O.KEEP_OUTPUT_DIRS, warm_up: bool = True):
        self.default_model = model
        self.models = ModelMenu(model, loader, unloader, states)
        self.defaults = UIDefaults.from_pipeline(self.models.start.pipeline, model)  # the page's initial values
        self.outputs = O.OutputStore(output_dir, keep_outputs)
        self.cancel = R.CancelFlags()
        self.edit = EditHandlers(self.models, self.outputs, self.cancel)
        if warm_up:
            R.warm_up(self.pipeline, self.models.current.speed)

    @property
    def pipeline(self) -> Pipeline:
        """The current model (the previews read conditions with it)."""
        return self.models.pipeline

    # -- the model menu -------------------------------------------------------------------------
    def model_info(self) -> str:
        """Markdown next to the model menu: what is loaded and what it accepts."""
        pipe = self.pipeline
        name = self.models.choice(self.models.current.name).display
        d = UIDefaults.from_pipeline(pipe, self.models.current.name)
        return (f"Loaded: **{html.escape(name, quote=False)}** \u00b7 {pipe.sample_rate} Hz \u00b7 up to "
                f"{d.max_duration:g} s (in windows of {d.window_seconds:g} s) \u00b7 conditions: "
                f"{', '.join(pipe.accepts)} \u00b7 {pipe.device}")

    def conditions_note(self) -> str:
        """What the current model ignores of the page's conditions ('' when it takes them all)."""
        missing = [c for c in ("chords", "drums", "melody") if c not in self.pipeline.accepts]
        return f"The loaded model ignores: {', '.join(missing)}." if missing else ""

    def unavailable_info(self) -> str:
        """Markdown list of the models that cannot be chosen, and why ('' if none)."""
        return self.models.unavailable()

    def select_model(self, model: str, progress=gr.Progress()):
        """Model menu chosen: load that model (downloading it on first use, with progress) and fit
        the page to it (`page_updates`). An unavailable model or a failed load keeps the current
        model, with a warning saying why."""
        before = self.models.current
        started = time.perf_counter()
        try:
            ref = self.models.use(model, progress)
        except FieldError as err:
            gr.Warning(I.user_error(err).message, title="The model was not changed")
            return (gr.update(choices=self.models.menu(), value=before.name),) + (gr.skip(),) * (len(PAGE_UPDATES) - 1)
        if ref is before:
            return (gr.skip(),) * len(PAGE_UPDATES)
        gr.Info(f"{self.models.choice(ref.name).display} loaded in {time.perf_counter() - started:.1f} s",
                title="Model loaded")
        return self.page_updates()

    def page_updates(self) -> tuple:
        """What follows the current model, in the order of `PAGE_UPDATES`: the menu, the model
        info, the duration limits (both durations, the Edit tab's extension), the conditions notes,
        and the guidance and solver controls of every tab, set to the model's defaults."""
        d = UIDefaults.from_pipeline(self.pipeline, self.models.current.name)
        top = max(d.max_duration, MIN_DURATION + 0.5)
        fixed, adaptive = I.solver_visibility(d.solver)
        # a fresh update per output: Gradio consumes an update's value as it sends it
        def duration():
            return gr.update(maximum=top, value=d.duration, interactive=d.duration_adjustable)

        def sampling():
            return dict(
                w_all=gr.update(value=d.w_all, maximum=max(W_ALL_RANGE[1], d.w_all)),
                w_text=gr.update(value=d.w_text, minimum=min(W_TEXT_RANGE[0], d.w_text),
                                 maximum=max(W_TEXT_RANGE[1], d.w_text)),
                null_auto=gr.update(value=d.null_auto), w_null=gr.update(value=d.w_null, interactive=not d.null_auto),
                solver=gr.update(choices=I.solver_choices(d), value=d.solver), steps=gr.update(value=max(1, min(d.steps, 200)), visible=fixed),
                schedule=gr.update(value=d.schedule, visible=fixed),
                log10_rtol=gr.update(value=d.log10_rtol, visible=adaptive),
                log10_atol=gr.update(value=d.log10_atol, visible=adaptive), max_nfe=gr.update(value=d.max_nfe))
        note = self.conditions_note()
        updates = {"model": gr.update(choices=self.models.menu(), value=self.models.current.name),
                   "info": self.model_info(), "generate.duration": duration(), "compare.duration": duration(),
                   "edit.seconds": gr.update(maximum=top, value=d.duration)}
        for tab in ("generate", "compare", "edit"):
            updates[f"{tab}.note"] = note
            updates.update((f"{tab}.{name}", update) for name, update in sampling().items())
        return tuple(updates[name] for name in PAGE_UPDATES)

    def stop(self, request: gr.Request = None):
        """Stop button: ask this session's running solve to stop at its next field evaluation;
        returns the status line ('Stopping…', or that nothing is running)."""
        return self.cancel.stop(request)

    # -- generate -------------------------------------------------------------------------------
    def generate(self, text: str = "", chords: str = "", drums=None, melody=None, duration: float = None,
                 bpm: float = 120.0, meter: str = "4/4", w_all: float = None, w_text: float = None,
                 null_auto: bool = None, w_null: float = None, solver: str = None, steps: int = None,
                 schedule: str = None, log10_rtol: float = None, log10_atol: float = None, max_nfe: int = None,
                 seed: int = 0, random_seed: bool = True, num_samples: int = 1, model: str = None, adherence: bool = True,
                 normalize: bool = True, request: gr.Request = None, progress=gr.Progress()):
        """Generate music from a prompt and optional chords, drums and melody.

        Every argument but `text` is optional; missing ones take the model's defaults. `duration`:
        up to 120 s; beyond the model's window (10 s) the clip is made of overlapping windows, one
        after another. `normalize`: bring each sample to -14 LUFS with a true peak at most -1 dBFS
        (the library's own output is left as it is). Returns one audio file per sample (up to 4;
        None for the others), the trajectory and spectrogram figures, a stats table, the WAV and
        JSON downloads, the seed used, and a status line.
        """
        started = time.perf_counter()
        stopped = self.cancel.start(request)
        with R.page_errors(stopped):
            ref = self.models.use(model, progress)  # another model than the current one: switch first
            d = UIDefaults.from_pipeline(ref.pipeline, ref.name)
            args = I.request_args(text, chords, drums, melody, d.duration if duration is None else duration, bpm,
                                  meter, seed, random_seed, max_duration=d.max_duration)
            guidance, solver_cfg = I.sampling(d, w_all, w_text, null_auto, w_null, solver, steps, schedule,
                                              log10_rtol, log10_atol, max_nfe)
            samples = I.num_samples(num_samples)
            report = R.SolveProgress(progress, stopped, solver_cfg.end_time)
            progress(0.0, desc="encoding the prompt and conditions")
            result, trace = R.generate(ref, dict(args, guidance=guidance, solver=solver_cfg, num_samples=samples,
                                                 trajectory=True, progress=report))
        progress(1.0, desc="writing audio and drawing")

        folder = self.outputs.new_dir()
        stem = f"jasco_seed{result.seed}"
        audio, level_rows = O.page_audio(result.audio, result.sample_rate, bool(normalize))
        wavs = O.write_wavs(folder, [f"{stem}_{k + 1}" for k in range(len(result.audio))], audio, result.sample_rate)
        replay = O.replay_inputs(args, guidance, solver_cfg, samples, result, ref.name, normalize=bool(normalize))
        record = O.write_record(os.path.join(folder, f"{stem}_parameters.json"), result, replay, wavs)
        trajectory_fig = O.trajectory_figure(result, trace)
        heard = detections(result.audio[0], result.sample_rate, result.previews) if adherence else None
        spectrogram_fig = music_plots.spectrogram_figure(audio, result.sample_rate, timeline=result.previews,
                                                         detections=heard)
        rows = (O.stats_rows(result, ref.pipeline.name, solver_cfg, guidance) + O.window_rows(result, ref.pipeline.frame_rate)
                + level_rows + (O.adherence_rows(result, heard) if adherence else []))
        total = time.perf_counter() - started
        rows.insert(0, ["end-to-end seconds (server)", f"{total:.2f}"])
        status = (f"Done in {total:.1f} s \u00b7 {result.nfe} NFE{O.in_windows(result)} \u00b7 seed {result.seed}"
                  + (" (random)" if args["seed"] is None else "")
                  + (f" \u00b7 {len(result.warnings)} warning(s), see the table" if result.warnings else ""))
        return (*O.players(wavs, MAX_SAMPLE_PLAYERS), trajectory_fig, spectrogram_fig, rows,
                [*wavs, record], result.seed, status)

    # -- compare --------------------------------------------------------------------------------
    def compare(self, text: str = "", chords: str = "", drums=None, melody=None, duration: float = None,
                bpm: float = 120.0, meter: str = "4/4", w_all: float = None, w_text: float = None, seed: int = 0,
                runs: tp.Optional[tp.List[str]] = None, extra_runs: str = "", max_nfe: int = None,
                model: str = None, request: gr.Request = None, progress=gr.Progress()):
        """Run the same prompt, conditions and seed with several solvers, one after another.

        Returns one audio file per run (up to 8), a table (NFE, seconds, RMSE of the final
        latents against the tightest run), one figure with the trajectories and error against
        NFE, and a status line. `runs`: preset names (default: Euler 4/8/16, Midpoint 8,
        dopri5 1e-3 and 1e-5); `extra_runs`: e.g. 'rk4:8, bosh3:1e-4'.
        """
        started = time.perf_counter()
        stopped = self.cancel.start(request)
        with R.page_errors(stopped):
            ref = self.models.use(model, progress)
            d = UIDefaults.from_pipeline(ref.pipeline, ref.name)
            args = I.request_args(text, chords, drums, melody, d.duration if duration is None else duration,
                                  bpm, meter, seed, False, max_duration=d.max_duration)
            guidance = I.guidance(d.w_all if w_all is None else w_all, d.w_text if w_text is None else w_text,
                                  True, None)
            cap = I.nfe_cap(d.max_nfe if max_nfe is None else max_nfe)
            plan = I.compare_runs(I.DEFAULT_COMPARE_RUNS if runs is None else runs, extra_runs, cap, d.presets_dict)
            n = len(plan)
            # the progress bar moves by expected evaluations, not by runs (a dopri5 run is most of the work)
            weights = [cost.expected_nfe(cfg, ref.speed.nfe_seen.get(cost.solver_key(cfg)))[0] for _, cfg in plan]
            starts = np.cumsum([0, *weights]) / max(sum(weights), 1)
            reporters = [R.SolveProgress(progress, stopped, cfg.end_time, offset=float(starts[i]),
                                         scale=float(starts[i + 1] - starts[i]), prefix=f"run {i + 1}/{n} ({label}): ")
                         for i, (label, cfg) in enumerate(plan)]
            progress(0.0, desc=f"run 1/{n}")
            comparison = R.compare(ref, [cfg for _, cfg in plan], dict(args, guidance=guidance), reporters)

        labels, rate = [label for label, _ in plan], ref.pipeline.sample_rate
        finished = [(label, run) for label, run in zip(labels, comparison.runs) if run.done]
        folder = self.outputs.new_dir()
        wavs = O.write_wavs(folder, [f"compare_{k + 1}_{label}" for k, (label, _) in enumerate(finished)],
                            np.stack([run.result.audio[0] for _, run in finished]), rate)
        figure = solve_plots.comparison_figure(O.run_traces(labels, comparison))
        status = (f"{len(finished)} of {n} runs done in {time.perf_counter() - started:.1f} s \u00b7 seed "
                  f"{comparison.seed} \u00b7 reference: {labels[comparison.reference]}"
                  + "".join(f" \u00b7 \u26a0\ufe0f {w}" for w in O.compare_warnings(comparison)))
        return (*O.players(wavs, MAX_COMPARE_RUNS), O.compare_rows(labels, comparison), figure, status)

    # -- live previews --------------------------------------------------------------------------
    # Each returns (plot update, note): the plot is shown only when there is something to draw, and
    # a value that cannot be read is explained in the note (no pop-up while the user is typing).
    # They read the conditions with `Pipeline.read_conditions`, as generation does.
    def preview_chords(self, chords: str = "", duration: float = None, bpm: float = 120.0, meter: str = "4/4"):
        """Chord timeline as the model will read it, or the reason the text cannot be read."""
        if not isinstance(chords, str) or not chords.strip():
            return _hidden(), ""
        duration = self.defaults.duration if duration is None else duration
        try:
            timeline = self.pipeline.read_conditions(chords=chords, duration=duration, bpm=bpm, meter=meter)
        except FieldError as err:
            return _hidden(), _problem(err)
        segments = [(s.label, s.start, s.end) for s in timeline.chord_segments]
        summary = f"{len(segments)} chord(s) over {timeline.duration:g} s" + _notes(timeline.warnings)
        return _shown(plots.chord_timeline(segments, timeline.duration)), summary

    def preview_drums(self, drums=None, duration: float = None):
        """The drum stem as the model receives it, with the hits the model is shown."""
        if drums is None:
            return _hidden(), ""
        duration = self.defaults.duration if duration is None else duration
        try:
            timeline = self.pipeline.read_conditions(drums=I.file_value("drums", drums), duration=duration)
        except FieldError as err:
            return _hidden(), _problem(err)
        if timeline.drums is None:  # a model without a drum condition
            return _hidden(), _notes(timeline.warnings).lstrip(" \u00b7")
        hits = timeline.drum_hits if timeline.drum_hits is not None else np.zeros(0)
        return (_shown(plots.drums_preview(timeline.drums.samples, timeline.sample_rate, hits, timeline.duration)),
                f"the model is shown {len(hits)} hits in {timeline.duration:g} s" + _notes(timeline.warnings))

    def preview_melody(self, melody=None, duration: float = None):
        """Piano roll of the melody the model will follow (from audio, MIDI or a salience file)."""
        if melody is None:
            return _hidden(), ""
        duration = self.defaults.duration if duration is None else duration
        try:
            timeline = self.pipeline.read_conditions(melody=I.file_value("melody", melody), duration=duration)
        except FieldError as err:
            return _hidden(), _problem(err)
        if timeline.melody is None:  # a model without a melody condition
            return _hidden(), _notes(timeline.warnings).lstrip(" \u00b7")
        pitches = timeline.melody.pitches
        return (_shown(plots.piano_roll(pitches, timeline.frame_rate, timeline.duration)),
                f"{100 * float(np.mean(pitches >= 0)):.0f}% of frames voiced" + _notes(timeline.warnings))

    def preview_runs(self, runs=None, extra_runs: str = "", max_nfe=None) -> str:
        """The Compare tab's runs as they will be made ('3 runs: Euler 4, Euler 8, rk4 8'), or why
        one is refused ('⚠️ More runs: ...'), while the user types."""
        d = UIDefaults.from_pipeline(self.pipeline, self.models.current.name)
        try:
            cap = I.nfe_cap(d.max_nfe if max_nfe is None else max_nfe)
            plan = I.compare_runs(I.DEFAULT_COMPARE_RUNS if runs is None else runs, extra_runs, cap, d.presets_dict)
        except FieldError as err:
            return _problem(err)
        return f"{len(plan)} run{'s' if len(plan) > 1 else ''}: " + ", ".join(html.escape(label) for label, _ in plan)

    # -- small UI updates -----------------------------------------------------------------------
    @staticmethod
    def null_weight(w_all: float = 0.0, w_text: float = 0.0, null_auto: bool = True):
        """'null = 1 - all - text' ticked: show that value and lock the w_null slider."""
        if null_auto:
            try:
                return gr.update(value=round(1.0 - float(w_all) - float(w_text), 4), interactive=False)
            except (TypeError, ValueError):
                return gr.update(interactive=False)
        return gr.update(interactive=True)

    @staticmethod
    def solver_controls(solver: str = "euler"):
        """Show `steps` and the time grid for fixed-step methods, `rtol`/`atol` for adaptive ones,
        neither for a preset ('fast', 'reference') or a typed spec."""
        fixed, adaptive = I.solver_visibility(solver)
        return (gr.update(visible=fixed), gr.update(visible=fixed), gr.update(visible=adaptive),
                gr.update(visible=adaptive))

    @staticmethod
    def copy_settings(*values):
        """'Copy from the Generate tab' on the Compare tab: values pass through unchanged."""
        return values


GENERATE_PARAMS = I.api_params(DemoHandlers.generate)
COMPARE_PARAMS = I.api_params(DemoHandlers.compare)


def _shown(figure) -> dict:
    return gr.update(value=figure, visible=True)


def _hidden() -> dict:
    return gr.update(value=None, visible=False)


def _problem(err: FieldError) -> str:
    """A preview's note for a value that cannot be read: 'field: what is expected'."""
    return f"\u26a0\ufe0f {html.escape(I.PAGE_FIELDS.get(err.field, err.field), quote=False)}: " \
           f"{html.escape(err.message, quote=False)}"


def _notes(warnings: tp.Sequence[str]) -> str:
    return f" \u00b7 \u26a0\ufe0f {html.escape('; '.join(warnings), quote=False)}" if warnings else ""
