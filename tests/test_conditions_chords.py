"""Chord progressions: notations, validation, tempo, and the frame rule."""

import math

import numpy as np
import pytest

from jasco_core.conditions import (
    ChordSegment,
    ConditionError,
    ParsedChords,
    chord_segments,
    frame_chords,
    parse_progression,
    parse_tempo,
)
from tests.conftest import idx, vocabulary

VOCAB = vocabulary()
NULL = VOCAB.null_index


def test_out_of_vocabulary_chord_warns_with_both_names():
    parsed = parse_progression("Cmaj9:0 G:2", duration=10)
    assert parsed.chords == (("Cmaj7", 0.0), ("G", 2.0))
    assert parsed.written == ("Cmaj9", "G")
    assert len(parsed.warnings) == 1
    assert "'Cmaj9'" in parsed.warnings[0] and "'Cmaj7'" in parsed.warnings[0]


def test_in_vocabulary_respelling_does_not_warn():
    parsed = parse_progression("Db:0 A:min@1 gbm7@2")
    assert parsed.chords == (("C#", 0.0), ("Am", 1.0), ("F#m7", 2.0))
    assert parsed.warnings == ()


EXPECTED = (("C", 0.0), ("F", 2.0), ("G", 4.0), ("C", 6.0))


@pytest.mark.parametrize("text", [
    "C:0 F:2 G:4 C:6",
    "C@0 F@2 G@4 C@6",
    "C:0, F:2; G:4.0  C:6",
    "C@0\nF@2\nG@4\nC@6",
    "(C, 0.0), (F, 2.0), (G, 4.0), (C, 6.0)",
    "[(C, 0.0), (F, 2.0), (G, 4.0), (C, 6.0)]",
    "[('C', 0), (\"F\", 2), ('G', 4.0), ('C', 6)]",
    "[(C,0),(F,2),(G,4),(C,6)]",
    "| C | F | G | C |",
    "C | F | G | C",
    "| C | F |\n| G | C |",
])
def test_text_notations(text):
    assert parse_progression(text).chords == EXPECTED


def test_python_list_and_numpy_times():
    assert parse_progression([("C", 0), ("F", 2.0), ("G", np.float32(4)), ("C", np.int64(6))]).chords == EXPECTED
    assert parse_progression((("C", 0.0), ("F", 2.0), ("G", 4.0), ("C", 6.0))).chords == EXPECTED
    parsed = parse_progression(EXPECTED)
    assert parse_progression(parsed).chords == EXPECTED


def test_bars_split_evenly_and_follow_tempo_and_meter():
    assert parse_progression("| C G | Am F |").chords == (("C", 0.0), ("G", 1.0), ("Am", 2.0), ("F", 3.0))
    # 90 BPM in 3/4: a bar lasts 2 s; three chords in a bar share it
    parsed = parse_progression("| C | Dm G7 C |", bpm=90, meter="3/4")
    labels = [c[0] for c in parsed.chords]
    starts = [c[1] for c in parsed.chords]
    assert labels == ["C", "Dm", "G7", "C"]
    assert starts == pytest.approx([0.0, 2.0, 2.0 + 2 / 3, 2.0 + 4 / 3])
    # 6/8 at 120 (eighth notes): 3 s per bar; meter given as a tuple
    assert parse_progression("| Am | E7 |", bpm=120, meter=(6, 8)).chords == (("Am", 0.0), ("E7", 3.0))


def test_harte_labels_need_at_sign_for_times():
    assert parse_progression("A:min@0 C:maj/3@2 G:7@4").chords == (("Am", 0.0), ("C/E", 2.0), ("G7", 4.0))
    # with ':' the text after the last colon is the time
    assert parse_progression("A:7 B:9").chords == (("A", 7.0), ("B", 9.0))
    assert parse_progression("A:min:0 G:7:1").chords == (("Am", 0.0), ("G7", 1.0))


def test_no_chord_symbol_is_a_real_chord_not_the_null_row():
    parsed = parse_progression("N:0 C:1 NC:2")
    assert parsed.chords == (("N", 0.0), ("C", 1.0), ("N", 2.0))
    frames = frame_chords(parsed, 150)
    assert frames[0] == VOCAB.no_chord_index == 0
    assert frames[120] == 0
    assert NULL not in frames


def test_unk_is_accepted_with_a_warning():
    parsed = parse_progression("UNK:0")
    assert parsed.chords == (("UNK", 0.0),)
    assert any("UNK" in w for w in parsed.warnings)


@pytest.mark.parametrize("value,fragment", [
    ("", "empty"),
    ("   \n ", "empty"),
    (None, "no chords"),
    ([], "empty"),
    ("C F G C", "has no start time"),
    ("C:0 F:x", "'x' is not a number"),
    ("C:0 F:nan", "not finite"),
    ("C:0 F:inf", "not finite"),
    ("C:-1 F:2", "negative"),
    ("C:0 F:2 G:2", "strictly increase"),
    ("C:3 F:2", "strictly increase"),
    ("C:0 H:2", "token 2"),
    ("C:0 Cxyz:2", "unrecognised quality text 'xyz'"),
    ("| C | Q7 |", "bar 2, chord 1"),
    ("(C, 0), (F, 2) junk", "character 16"),
    ("(C, 0), (F)", "(label, start_seconds)"),
    ([("C", 0), "F"], "item 2"),
    ([("C", 0), ("F", "2")], "must be a number"),
    ([("C", 0), ("F", True)], "must be a number"),
    ([("C", 0), (7, 2)], "must be text"),
    ([("C", 0), ("F", 2, 3)], "item 2"),
    (42, "text or a list"),
    ("C/:0", "nothing after '/'"),
])
def test_errors_name_the_field_and_show_an_example(value, fragment):
    with pytest.raises(ConditionError) as info:
        parse_progression(value)
    error = info.value
    assert isinstance(error, ValueError)
    assert error.field == "chords"
    assert str(error).startswith("chords:")
    assert fragment in str(error)
    assert "e.g." in str(error) or "like" in str(error) or "at most" in str(error)


def test_size_limits():
    from jasco_core.conditions import ChordLimits

    with pytest.raises(ConditionError, match="at most 5 are accepted"):
        parse_progression(" ".join(f"C@{i}" for i in range(6)), limits=ChordLimits(max_chords=5))
    with pytest.raises(ConditionError, match="characters long"):
        parse_progression("C:0 " * 100, limits=ChordLimits(max_text_chars=50))


@pytest.mark.parametrize("bpm,meter,field", [
    (0, "4/4", "bpm"), ("fast", "4/4", "bpm"), (float("nan"), "4/4", "bpm"), (1000, "4/4", "bpm"),
    (120, "4", "meter"), (120, "4/3", "meter"), (120, "0/4", "meter"), (120, (4,), "meter"),
])
def test_tempo_errors(bpm, meter, field):
    with pytest.raises(ConditionError) as info:
        parse_progression("| C | F |", bpm=bpm, meter=meter)
    assert info.value.field == field and field in str(info.value)


def test_tempo_is_only_needed_for_bars():
    # a bad tempo does not matter when no bar notation is used
    assert parse_progression("C:0", bpm=0).chords == (("C", 0.0),)
    assert parse_tempo(100, "7/8").bar_seconds == pytest.approx(7 * 60 / 100)


def test_chords_at_or_after_duration_are_ignored_with_warning():
    parsed = parse_progression("C:0 F:5 G:10 Am:12", duration=10)
    assert parsed.chords == (("C", 0.0), ("F", 5.0))
    assert len(parsed.warnings) == 2
    assert "'G'" in parsed.warnings[0] and "10 s" in parsed.warnings[0]
    all_late = parse_progression("C:11", duration=10)
    assert all_late.chords == () and any("empty" in w for w in all_late.warnings)
    with pytest.raises(ConditionError) as info:
        parse_progression("C:0", duration=-1)
    assert info.value.field == "duration"


def test_frame_rule_boundaries():
    # 50 frames/s: frame i is at i * 0.02 s
    frames = frame_chords([("C", 0.02), ("F", 0.05), ("G", 0.06)], 6, frame_rate=50)
    # frame 0 (0.00) precedes the first chord -> null; frame 1 (0.02) starts exactly on C;
    # F starts between frames 2 (0.04) and 3 (0.06) -> from frame 3; G at 0.06 replaces it on frame 3
    assert frames.tolist() == [NULL, idx("C"), idx("C"), idx("G"), idx("G"), idx("G")]
    assert frames.dtype == np.int64


def test_frame_rule_start_between_frames_and_rounding():
    frames = frame_chords([("C", 0.0), ("F", 0.031)], 4)
    assert frames.tolist() == [idx("C"), idx("C"), idx("F"), idx("F")]
    # 0.1 + 0.2 is 0.30000000000000004: still exactly frame 15
    frames = frame_chords([("C", 0.0), ("F", 0.1 + 0.2)], 17)
    assert frames[14] == idx("C") and frames[15] == idx("F")
    # a start a hair before a frame time takes that frame
    assert frame_chords([("C", 0.0399999)], 3).tolist() == [NULL, NULL, idx("C")]


def test_frame_rule_matches_brute_force_reference():
    rng = np.random.default_rng(0)
    labels = [l for l in VOCAB.labels if l not in ("UNK",)]
    for frame_rate in (50, 25, 86):
        for _ in range(20):
            # starts on a 1/200 s grid, some on frame boundaries, some between
            ticks = np.sort(rng.choice(np.arange(0, 800), size=rng.integers(1, 12), replace=False))
            progression = [(str(rng.choice(labels)), int(t) / 200) for t in ticks]
            n = int(rng.integers(1, 300))
            got = frame_chords(progression, n, frame_rate=frame_rate)
            for i in range(n):
                # exact rational comparison: start_ticks/200 <= i/frame_rate
                active = [label for (label, s), t in zip(progression, ticks) if t * frame_rate <= i * 200]
                want = idx(active[-1]) if active else NULL
                assert got[i] == want


def test_frames_shapes_and_raw_labels():
    assert frame_chords(EXPECTED, 0).shape == (0,)
    assert frame_chords([], 5).tolist() == [NULL] * 5
    full = frame_chords(parse_progression("| C | F | G | C |"), 500)
    assert full.shape == (500,)
    assert full[0] == idx("C") and full[99] == idx("C") and full[100] == idx("F") and full[399] == idx("C")
    # raw, non-vocabulary spellings are mapped too
    assert frame_chords([("Db", 0), ("Cmaj9", 0.02)], 2).tolist() == [idx("C#"), idx("Cmaj7")]
    assert ParsedChords((("C", 0.0),)).frames(3).tolist() == [idx("C")] * 3


def test_segments_for_preview():
    parsed = parse_progression("| C | C | F G | N |")
    assert chord_segments(parsed, 10) == [
        ChordSegment("C", 0.0, 4.0), ChordSegment("F", 4.0, 5.0), ChordSegment("G", 5.0, 6.0),
        ChordSegment("N", 6.0, 10.0)]
    # clipped to the clip length
    assert parsed.segments(5.0) == [ChordSegment("C", 0.0, 4.0), ChordSegment("F", 4.0, 5.0)]
    assert math.isclose(sum(s.end - s.start for s in chord_segments(parsed, 10)), 10.0)


def test_frames_before_the_first_chord_follow_the_chosen_rule():
    progression = [("C", 0.1), ("F", 0.2)]
    null = frame_chords(progression, 12, before_first="null")
    no_chord = frame_chords(progression, 12, before_first="no_chord")
    assert null[:5].tolist() == [NULL] * 5 and no_chord[:5].tolist() == [VOCAB.no_chord_index] * 5 == [0] * 5
    assert VOCAB.labels[0] == "N"
    assert null[5:].tolist() == no_chord[5:].tolist() == [idx("C")] * 5 + [idx("F")] * 2
    with pytest.raises(ValueError, match="before_first"):
        frame_chords(progression, 12, before_first="silence")


def test_a_bar_chart_shorter_than_the_clip_repeats_and_time_notation_holds():
    looped = parse_progression("| C G | Am F |", duration=10.0)
    assert [c for c, _ in looped.chords] == ["C", "G", "Am", "F", "C", "G", "Am", "F", "C", "G"]
    assert [t for _, t in looped.chords] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert any("repeats to fill the 10 s clip" in w for w in looped.warnings)
    held = parse_progression("C:0 G:1 Am:2 F:3", duration=10.0)
    assert held.chords[-1] == ("F", 3.0) and not held.warnings
    exact = parse_progression("| C | Am | F | G |", duration=10.0, bpm=96)      # 4 bars of 2.5 s: no repeat
    assert len(exact.chords) == 4 and not exact.warnings
    assert len(parse_progression("| C G | Am F |").chords) == 4                  # no clip length: as written
