"""Groups of controls that several tabs show: the conditions with their live previews, the
duration slider, and the guidance and solver settings with their small updates.

Each function builds its components inside the current Gradio layout context and wires the events
that belong to the group alone (previews; w_null following w_all and w_text; the solver's steps or
tolerances); the tab wires the rest. `prefix` keeps the elem_ids and api_names of tabs apart.
"""
from __future__ import annotations

import typing as tp

import gradio as gr


from . import inputs as I
from . import page
from .components import CheckedDropdown, CheckedNumber, CheckedSlider
from .cost import compare_cost_text, solver_cost_text
from .handlers import DemoHandlers
from .inputs import LOG10_TOL_RANGE, MAX_NFE_LIMIT, MIN_DURATION, W_ALL_RANGE, W_TEXT_RANGE, UIDefaults

PREVIEW_CONCURRENCY = 2  # live previews running at once

CHORDS_HELP = ("'C:0 Am:2.5 F:5 G:7.5' (chord:start seconds), 'C@0 F@2', '| C | Am | F G |' (bars at the tempo "
               "below) or '[(C, 0.0), (F, 2.0)]'. Harte labels with ':' take '@': 'A:min@0'.")
MELODY_TYPES = [".wav", ".flac", ".ogg", ".mp3", ".mid", ".midi", ".npy", ".pt", ".th"]

class Conditions(tp.NamedTuple):
    text: gr.Textbox
    chords: gr.Textbox
    bpm: gr.Number
    meter: gr.Dropdown
    drums: gr.Audio
    melody: gr.File
    note: gr.Markdown  # what the current model ignores
    files: gr.Accordion  # "Drums and melody": opened when an example or a replay loads a file


def conditions(h: DemoHandlers, duration: gr.components.Component, prefix: str, open_files: bool) -> Conditions:
    """Prompt, chords (with a live timeline), drums and melody (with previews) for one tab; the
    previews span `duration` (a slider, or a hidden number the Edit tab keeps at the result's length)."""
    d = h.defaults
    text = gr.Textbox(label="Prompt", lines=2, value=d.text, elem_id=f"{prefix}prompt",
                      placeholder="e.g. mellow jazz piano with brushed drums, slow tempo")
    with gr.Row(equal_height=True):
        chords = gr.Textbox(label="Chord progression", value=d.chords, scale=5, elem_id=f"{prefix}chords",
                            placeholder="C:0 Am:2.5 F:5 G:7.5", info=CHORDS_HELP)
        bpm = CheckedNumber(label="Tempo (BPM)", value=d.bpm, minimum=20, maximum=400, scale=1, min_width=90,
                            info="for bars")
        meter = CheckedDropdown(label="Meter", choices=["4/4", "3/4", "6/8", "2/4", "5/4", "7/8"], value=d.meter,
                                allow_custom_value=True, scale=1, min_width=110, info="for bars")
    chord_plot = gr.Plot(label="Chord timeline", show_label=False, visible=False, elem_id=f"{prefix}chord-plot")
    chord_note = gr.Markdown(elem_classes="preview-note")
    with gr.Accordion("Drums and melody (optional)", open=open_files, elem_id=f"{prefix}files") as files:
        with gr.Row():
            drums = gr.Audio(label="Drums: upload a loop or record one", sources=["upload", "microphone"],
                             type="filepath", elem_id=f"{prefix}drums")
            melody = gr.File(label="Melody: audio, MIDI (.mid) or salience (.npy/.pt [53, T])",
                             file_types=MELODY_TYPES, type="filepath", elem_id=f"{prefix}melody")
        # one above the other, each the column's full width (side by side they were too narrow to read)
        drums_plot = gr.Plot(label="Drums preview", show_label=False, visible=False, elem_id=f"{prefix}drums-plot")
        drums_note = gr.Markdown(elem_classes="preview-note")
        melody_plot = gr.Plot(label="Melody preview", show_label=False, visible=False, elem_id=f"{prefix}melody-plot")
        melody_note = gr.Markdown(elem_classes="preview-note")
        note = gr.Markdown(h.conditions_note(), elem_id=f"{prefix}conditions-note")

    preview = dict(queue=True, concurrency_id="preview", concurrency_limit=PREVIEW_CONCURRENCY,
                   show_progress="hidden", trigger_mode="always_last")
    gr.on([chords.change, duration.change, bpm.change, meter.change], h.preview_chords,
          inputs=[chords, duration, bpm, meter], outputs=[chord_plot, chord_note],
          api_name=f"{prefix}preview_chords", **preview)
    gr.on([drums.change, duration.change], h.preview_drums, inputs=[drums, duration],
          outputs=[drums_plot, drums_note], api_name=f"{prefix}preview_drums", **preview)
    gr.on([melody.change, duration.change], h.preview_melody, inputs=[melody, duration],
          outputs=[melody_plot, melody_note], api_name=f"{prefix}preview_melody", **preview)
    return Conditions(text, chords, bpm, meter, drums, melody, note, files)


def duration_slider(d: UIDefaults, elem_id: str) -> CheckedSlider:
    """The clip length, up to the page's limit for the model (created unrendered: `.render()` it)."""
    return CheckedSlider(MIN_DURATION, max(d.max_duration, MIN_DURATION + 0.5), value=d.duration, step=0.5,
                         label="Duration (s)", interactive=d.duration_adjustable, elem_id=elem_id, render=False,
                         min_width=160,
                         info=(f"beyond {d.window_seconds:g} s: overlapping windows of {d.window_seconds:g} s"
                               if d.duration_adjustable else "this model makes clips of a fixed length"))


def weight_sliders(d: UIDefaults, prefix: str, **info) -> tp.Tuple[CheckedSlider, CheckedSlider]:
    """w_all and w_text (their ranges widened to hold the model's defaults)."""
    w_all = CheckedSlider(W_ALL_RANGE[0], max(W_ALL_RANGE[1], d.w_all), value=d.w_all, step=0.25, label="w_all",
                          elem_id=f"{prefix}w_all", info=info.get("w_all"))
    w_text = CheckedSlider(min(W_TEXT_RANGE[0], d.w_text), max(W_TEXT_RANGE[1], d.w_text), value=d.w_text, step=0.25,
                           label="w_text", elem_id=f"{prefix}w_text", info=info.get("w_text"))
    return w_all, w_text


def sampling_controls(h: DemoHandlers, prefix: str, duration: tp.Optional[gr.components.Component] = None,
                      samples: tp.Optional[gr.components.Component] = None) -> tp.Dict[str, gr.components.Component]:
    """The 'Guidance' and 'Solver' accordions: the components of `inputs.SAMPLING_PARAMS`, by name,
    and the solver's cost estimate (`cost`), which follows `duration` and `samples` when given."""
    d = h.defaults
    with gr.Accordion("Guidance", open=False):
        gr.Markdown("v = w_all \u00b7 v(all conditions) + w_text \u00b7 v(text only) + w_null \u00b7 v(nothing)")
        with gr.Row():
            w_all, w_text = weight_sliders(d, prefix, w_all="pull towards every condition",
                                           w_text="pull towards the prompt alone; negative: follow chords, "
                                                  "melody and drums harder")
        with gr.Row():
            null_auto = gr.Checkbox(label="null = 1 \u2212 all \u2212 text", value=d.null_auto,
                                    elem_id=f"{prefix}null_auto")
            w_null = CheckedSlider(-20, 5, value=d.w_null, step=0.25, label="w_null", interactive=not d.null_auto,
                                   elem_id=f"{prefix}w_null")
    with gr.Accordion("Solver", open=False):
        fixed, adaptive = I.solver_visibility(d.solver)
        with gr.Row():
            solver = CheckedDropdown(I.solver_choices(d), value=d.solver, label="Method", elem_id=f"{prefix}solver",
                                     allow_custom_value=True,
                                     info="fast: this model's fitted 10-evaluation solver (the one fitted nearest "
                                          "your guidance); reference: the original's dopri5 1e-5; euler/midpoint/rk4: "
                                          "fixed steps; dopri5/bosh3/adaptive_heun: adaptive; or type a spec such as "
                                          "midpoint:5/sway=-1")
            max_nfe = CheckedNumber(label="NFE cap", value=d.max_nfe, precision=0, minimum=1, maximum=MAX_NFE_LIMIT,
                                    elem_id=f"{prefix}max_nfe", elem_classes=page.WHOLE,
                                    info="stop a solve after this many evaluations (per window of a long clip)")
        with gr.Row():
            steps = CheckedSlider(1, 200, value=max(1, min(d.steps, 200)), step=1, label="Steps", visible=fixed,
                                  elem_id=f"{prefix}steps")
            schedule = CheckedDropdown(I.SCHEDULE_CHOICES, value=d.schedule, label="Time grid", visible=fixed,
                                       allow_custom_value=True, elem_id=f"{prefix}schedule",
                                       info="where the steps fall on [0, 1]: sway / power put more near the noise; "
                                            "or type times such as 0, 0.1, 0.4, 1")
        with gr.Row():
            lo, hi = LOG10_TOL_RANGE
            log10_rtol = CheckedSlider(lo, hi, value=d.log10_rtol, step=0.5, label="rtol = 10^x", visible=adaptive,
                                       info="smaller: more accurate, more NFE", elem_id=f"{prefix}log10_rtol")
            log10_atol = CheckedSlider(lo, hi, value=d.log10_atol, step=0.5, label="atol = 10^x", visible=adaptive,
                                       elem_id=f"{prefix}log10_atol")
    # under the accordion, so the cost shows while it is folded too (filled below)
    cost = gr.Markdown(elem_id=f"{prefix}solver_cost", elem_classes="preview-note")
    small = dict(api_visibility="undocumented", queue=False, show_progress="hidden")
    gr.on([w_all.change, w_text.change, null_auto.change], h.null_weight, inputs=[w_all, w_text, null_auto],
          outputs=[w_null], api_name=f"{prefix}null_weight", **small)
    solver.change(h.solver_controls, inputs=[solver], outputs=[steps, schedule, log10_rtol, log10_atol],
                  api_name=f"{prefix}solver_controls", **small)
    controls = dict(w_all=w_all, w_text=w_text, null_auto=null_auto, w_null=w_null, solver=solver, steps=steps,
                    schedule=schedule, log10_rtol=log10_rtol, log10_atol=log10_atol, max_nfe=max_nfe)
    extra = [c for c in (duration, samples) if c is not None]

    def show_cost(*values):
        named = dict(zip(I.SAMPLING_PARAMS, values))
        rest = dict(zip([k for k, c in (("duration", duration), ("samples", samples)) if c is not None],
                        values[len(I.SAMPLING_PARAMS):]))
        ui = UIDefaults.from_pipeline(h.pipeline, h.models.current.name)
        try:
            terms = len(I.sampling(ui, *values[:len(I.SAMPLING_PARAMS)])[0].active_terms())
        except Exception:  # noqa: BLE001 (a refused weight: the request will say so)
            terms = 3
        return solver_cost_text(h.models.current.speed, lambda: I.sampling(ui, *named.values())[1],
                                rest.get("duration", ui.duration), rest.get("samples", 1), terms)

    sources = [controls[name] for name in I.SAMPLING_PARAMS] + extra
    gr.on([c.change for c in sources], show_cost, inputs=sources, outputs=[cost], api_visibility="private",
          queue=False, show_progress="hidden")
    cost.refresh = (show_cost, sources)
    cost.value = show_cost(*(getattr(d, name) for name in I.SAMPLING_PARAMS),
                           *([d.duration] if duration is not None else []), *([1] if samples is not None else []))
    controls["cost"] = cost
    return controls


def compare_cost(h: DemoHandlers, runs, extra_runs, max_nfe, duration, w_all, w_text) -> gr.Markdown:
    """The Compare tab's cost estimate: each run's NFE and seconds and the total, following the
    runs, the cap, the duration and the weights (which set the guidance terms per evaluation)."""
    note = gr.Markdown(elem_id="cmp-cost", elem_classes="preview-note")

    def show(runs_value, extra, cap, seconds, w_all_value, w_text_value):
        ui = UIDefaults.from_pipeline(h.pipeline, h.models.current.name)
        try:
            plan = I.compare_runs(runs_value, extra, I.nfe_cap(cap), ui.presets_dict)
            terms = len(I.guidance(w_all_value, w_text_value, True, None).active_terms())
            return compare_cost_text(h.models.current.speed, plan, float(seconds), terms)
        except Exception as err:  # noqa: BLE001 (the request itself reports a bad value)
            return f"Cost: \u2014 ({getattr(err, 'message', 'check the runs')})"

    sources = [runs, extra_runs, max_nfe, duration, w_all, w_text]
    gr.on([c.change for c in sources], show, inputs=sources, outputs=[note], api_visibility="private", queue=False,
          show_progress="hidden")
    d = h.defaults
    note.value = show(I.DEFAULT_COMPARE_RUNS, "", d.max_nfe, d.duration, d.w_all, d.w_text)
    note.refresh = (show, sources)
    return note


def refresh_after(cost: gr.Markdown, event) -> None:
    """Recompute a cost note (`sampling_controls`' or `compare_cost`'s) once `event` has succeeded
    (a run just measured this server's seconds per NFE and an adaptive solver's NFE), or, given a
    listener such as `Blocks.load`, whenever it fires (a page opened after the warm-up)."""
    fn, inputs = cost.refresh
    options = dict(inputs=inputs, outputs=[cost], api_visibility="private", queue=False, show_progress="hidden")
    if hasattr(event, "then"):
        event.then(fn, **options)
    else:
        event(fn, **options)
