"""Command line check of condition inputs, without loading any model.

    python -m jasco_core.conditions check --chords "| C | Am | F | G |" --melody tune.mid --drums loop.wav

prints the parsed chord timeline, the warnings, and the shapes of the arrays
the model would receive.  Exit status 2 (with the message) on bad input.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Optional, Sequence

import numpy as np

from .errors import ConditionError

EXIT_BAD_INPUT = 2


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m jasco_core.conditions",
                                     description="Check JASCO condition inputs (chords, melody, drums).")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="parse and validate inputs, print what the model would get")
    check.add_argument("--chords", help="progression, e.g. 'C:0 F:2', 'C@0 F@2', '| C | F G |' or '[(C, 0), (F, 2)]'")
    check.add_argument("--melody", help="melody file: audio, .mid/.midi, or .npy/.pt/.th salience [53, T]")
    check.add_argument("--melody-track", help="MIDI track index or name to use as melody (default: highest voice)")
    check.add_argument("--drums", help="drums audio file")
    check.add_argument("--duration", type=float, default=10.0, help="clip length in seconds (default 10)")
    check.add_argument("--bpm", type=float, default=120.0, help="tempo for bar notation (default 120)")
    check.add_argument("--meter", default="4/4", help="meter for bar notation (default 4/4)")
    check.add_argument("--frame-rate", type=float, default=50.0, help="model frames per second (default 50)")
    check.add_argument("--sample-rate", type=int, default=32000, help="drums sample rate (default 32000)")
    return parser


def _check(args: argparse.Namespace) -> list[str]:
    from .chords import chord_segments, frame_chords, parse_progression
    from ..metrics import onset_times
    from .drums import read_drums
    from .melody_sources import load_melody
    from .vocabulary import load_vocabulary

    if not (args.chords or args.melody or args.drums):
        raise ConditionError("inputs", "nothing to check; give at least one of --chords, --melody, --drums")
    if not (args.duration > 0 and np.isfinite(args.duration)) or args.duration > 600:
        raise ConditionError("duration", f"--duration must be between 0 and 600 seconds, e.g. 10; got {args.duration}")
    n_frames = int(round(args.duration * args.frame_rate))
    lines = [f"clip: {args.duration:g} s = {n_frames} frames at {args.frame_rate:g} frames/s"]
    warnings: list[str] = []

    if args.chords:
        vocab = load_vocabulary()
        parsed = parse_progression(args.chords, duration=args.duration, bpm=args.bpm, meter=args.meter)
        warnings += [f"chords: {w}" for w in parsed.warnings]
        lines.append(f"chords: {len(parsed)} changes")
        for segment in chord_segments(parsed, args.duration):
            lines.append(f"  {segment.start:7.3f} - {segment.end:7.3f} s  {segment.label}")
        frames = frame_chords(parsed, n_frames, args.frame_rate, vocab)
        lines.append(f"  frame chords: shape [{frames.shape[0]}] {frames.dtype}, "
                     f"{int(np.sum(frames == vocab.null_index))} frames before the first chord (null index {vocab.null_index})")
    if args.melody:
        track = args.melody_track
        if track is not None and track.strip().isdigit():
            track = int(track)
        melody = load_melody(args.melody, n_frames, args.frame_rate, track=track)
        warnings += [f"melody: {w}" for w in melody.warnings]
        voiced = melody.pitches[melody.pitches >= 0]
        span = f", MIDI {voiced.min()}..{voiced.max()}" if voiced.size else ""
        lines.append(f"melody: salience shape [{melody.salience.shape[0]}, {melody.salience.shape[1]}], "
                     f"{100 * melody.voiced_fraction:.1f}% voiced{span} ({melody.source})")
    if args.drums:
        clip = read_drums(args.drums, sample_rate=args.sample_rate, duration=args.duration)
        warnings += [f"drums: {w}" for w in clip.warnings]
        onsets = onset_times(clip.samples, clip.sample_rate)
        lines.append(f"drums: {clip.samples.shape[0]} samples at {clip.sample_rate} Hz "
                     f"({clip.seconds:.2f} s, source {clip.source_seconds:.2f} s), {len(onsets)} onsets")
    lines.append("warnings:" if warnings else "warnings: none")
    lines += [f"  - {w}" for w in warnings]
    return lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _build_parser().parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    try:
        lines = _check(args)
    except ConditionError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
