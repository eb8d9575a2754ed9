"""Layout and wiring of the Edit tab: repaint a region of a clip, or extend it.

Left: the clip (an upload, a recording, or the Generate tab's last output, "Use the last output"),
the mode (Repaint region: start and end typed in seconds; Extend: how many seconds to add), the
prompt and conditions with their previews (spanning the result's length, condition times counting
from the clip's start), seed, guidance and solver, and Generate / Stop. Right: a status line, the
clip before and after, a figure of both with the edited part shaded, the stats and the downloads.

Each mode has its own Generate button (only the mode's is shown), so that each is its own API
event: `/repaint` (audio, start, end, ...) and `/extend` (audio, seconds, ...). Gradio 6's Audio
component has no region selection that reaches the server (its "trim" cuts the file itself), so
the region is typed and the input player's editing is switched off.
"""
from __future__ import annotations

import typing as tp

import gradio as gr

from . import page
from .components import CheckedNumber, CheckedSlider, name_fields
from .controls import conditions, sampling_controls
from .edit import EXTEND_PARAMS, MODES, REPAINT_PARAMS
from .handlers import DemoHandlers
from .inputs import MAX_PAGE_DURATION, MAX_SEED, MIN_EXTEND
from .outputs import STATS_HEADERS, STATS_WIDTHS

INTRO = ("Regenerate a region of a clip and keep the rest (**Repaint region**), or continue it (**Extend**). "
         "Times of chords, drums and melody count from the start of the clip.")


def edit_tab(h: DemoHandlers, model: gr.Dropdown, generate: tp.Dict[str, tp.Any]) -> tp.Dict[str, tp.Any]:
    """The Edit tab inside the current `gr.Tab`; returns its controls by parameter name (and
    'note', the conditions note)."""
    d = h.defaults
    with gr.Row():
        with gr.Column(scale=5, min_width=380):
            gr.Markdown(INTRO)
            audio = gr.Audio(label="Clip to edit: upload or record one, or use the last output", type="filepath",
                             sources=["upload", "microphone"], editable=False, elem_id="edit-audio")
            with gr.Row():
                use_last = gr.Button("Use the last output", size="sm", elem_id="edit-use-last")
                use_result = gr.Button("Edit the result again", size="sm", elem_id="edit-use-result")
            length = gr.Markdown(elem_classes="preview-note", elem_id="edit-length")
            mode = gr.Radio(list(MODES), value=MODES[0], label="Edit", elem_id="edit-mode")
            with gr.Row(equal_height=True) as region:
                # no initial value: the API needs the region (a clip chosen on the page suggests one)
                start = CheckedNumber(label="Start (s)", value=None, minimum=0, maximum=MAX_PAGE_DURATION,
                                      elem_id="edit-start", info="of the region to regenerate")
                end = CheckedNumber(label="End (s)", value=None, minimum=0, maximum=MAX_PAGE_DURATION,
                                    elem_id="edit-end", info="within the clip")
            seconds = CheckedSlider(MIN_EXTEND, d.max_duration, value=min(d.duration, d.max_duration), step=0.5,
                                    label="Extend by (s)", visible=False, elem_id="edit-seconds",
                                    info=f"the result is at most {d.max_duration:g} s")
            span = gr.Number(value=d.duration, visible=False)  # the result's length: what the previews span
            cond = conditions(h, span, "edit-", open_files=False)
            with gr.Row(equal_height=True):
                seed = CheckedNumber(label="Seed", value=d.seed, precision=0, minimum=0, maximum=MAX_SEED,
                                     elem_id="edit-seed", elem_classes=page.WHOLE)
                random_seed = gr.Checkbox(label="Random seed", value=d.random_seed,
                                          info="the seed used is shown here after a run")
            sampling = sampling_controls(h, "edit-")
            with gr.Row():
                repaint = gr.Button("Generate", variant="primary", elem_id="edit-repaint-btn", scale=3)
                extend = gr.Button("Generate", variant="primary", visible=False, elem_id="edit-extend-btn", scale=3)
                stop = gr.Button("Stop", variant="stop", elem_id="edit-stop-btn", scale=1)
        with gr.Column(scale=6, min_width=320):
            status = gr.Markdown("Choose a clip and a region, then press **Generate**.", label="Status",
                                 elem_id="edit-status", elem_classes="status-line")
            before = gr.Audio(label="Before", type="filepath", interactive=False, elem_id="edit-before")
            after = gr.Audio(label="After", type="filepath", interactive=False, elem_id="edit-after")
            figure = gr.Plot(label="Before and after plot", show_label=False, elem_id="edit-plot")
            stats = gr.Dataframe(headers=STATS_HEADERS, label="Stats", interactive=False, wrap=True, max_height=1000,
                                 column_widths=STATS_WIDTHS, elem_id="edit-stats")
            downloads = gr.File(label="Downloads", file_count="multiple", interactive=False, elem_id="edit-downloads")

    controls = dict(audio=audio, start=start, end=end, seconds=seconds, text=cond.text, chords=cond.chords,
                    drums=cond.drums, melody=cond.melody, bpm=cond.bpm, meter=cond.meter, **sampling, seed=seed,
                    random_seed=random_seed, model=model)
    name_fields({k: v for k, v in controls.items() if k != "model"})
    work = dict(players=[before, after], others=[figure, stats, downloads, seed], keep=[seed], status=status,
                name_players=h.edit.player_labels, hide_players=False, concurrency_id="model", concurrency_limit=1,
                show_progress_on=[status, after])
    events = [page.run_flow(repaint, None, h.cancel, h.edit.repaint, None, inputs=[controls[n] for n in REPAINT_PARAMS],
                            api_name="repaint", **work),
              page.run_flow(extend, None, h.cancel, h.edit.extend, None, inputs=[controls[n] for n in EXTEND_PARAMS],
                            api_name="extend", **work)]
    page.stop_flow(stop, h.cancel, h.stop, events, status, "stop_edit")

    small = dict(queue=False, show_progress="hidden")  # off the API page (`page.document_only`)
    use_last.click(h.edit.use_audio, inputs=[generate["last_output"]], outputs=[audio], api_name="use_last_output",
                   **small)
    use_result.click(h.edit.use_audio, inputs=[after], outputs=[audio], api_name="use_result", **small)
    mode.change(h.edit.mode_controls, inputs=[mode], outputs=[region, seconds, repaint, extend], api_name="edit_mode",
                **small)
    gr.on([audio.change, mode.change, seconds.change], h.edit.length, inputs=[audio, mode, seconds, start, end],
          outputs=[span, length, start, end], api_name="edit_length", **small)
    controls["note"] = cond.note
    return controls
