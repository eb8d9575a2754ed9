"""User-facing condition inputs: chords, melody and drums, parsed and validated.

Each input a user can give the demo (a chord progression as text, a melody as
audio/MIDI/matrix, a drum loop) is turned here into the arrays the model
consumes, and every mistake is reported as :class:`ConditionError` with the
name of the input in ``.field``.  Heavy libraries (librosa, torch, soxr) are
only imported when a function needs them.
"""

from .audio import AudioClip, AudioLimits, load_audio, read_audio
from .chord_labels import Chord, parse_chord_label, to_vocabulary
from .chords import (
    ChordLimits,
    ChordSegment,
    ParsedChords,
    Tempo,
    chord_segments,
    frame_chords,
    parse_progression,
    parse_tempo,
)
from .drums import DrumsConfig, load_drums, read_drums
from .errors import ConditionError
from .melody import (
    MELODY_BINS,
    MELODY_HIGHEST_MIDI,
    MELODY_LOWEST_MIDI,
    MelodyCondition,
    MelodyConfig,
    bin_to_midi,
    midi_to_bin,
    pitches_to_salience,
    salience_to_pitches,
)
from .melody_sources import (
    load_melody,
    melody_from_audio,
    melody_from_midi,
    melody_from_salience,
    melody_from_salience_file,
)
from .vocabulary import ChordVocabulary, VocabularyEntry, load_vocabulary

__all__ = [
    "AudioClip", "AudioLimits", "load_audio", "read_audio",
    "Chord", "parse_chord_label", "to_vocabulary",
    "ChordLimits", "ChordSegment", "ParsedChords", "Tempo", "chord_segments", "frame_chords",
    "parse_progression", "parse_tempo",
    "DrumsConfig", "load_drums", "read_drums",
    "ConditionError",
    "MELODY_BINS", "MELODY_HIGHEST_MIDI", "MELODY_LOWEST_MIDI", "MelodyCondition", "MelodyConfig",
    "bin_to_midi", "load_melody", "melody_from_audio", "melody_from_midi", "melody_from_salience",
    "melody_from_salience_file", "midi_to_bin", "pitches_to_salience", "salience_to_pitches",
    "ChordVocabulary", "VocabularyEntry", "load_vocabulary",
]
