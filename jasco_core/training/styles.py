"""The musical styles the training-data generator draws from.

A :class:`Style` is pure data: tempo range, swing, candidate chord
progressions, drum patterns, part algorithms and General MIDI programs.  Keeping
every stylistic choice in one table makes the generator's coverage easy to read
and to extend, and keeps the part generators free of genre special cases.

Instrument names (with synonyms for text prompts) live here too, keyed by GM
program, so the description and the metadata always agree with what was
rendered.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Style", "STYLES", "INSTRUMENT_NAMES", "DRUM_KIT_NAMES", "instrument_name"]


@dataclass(frozen=True)
class Style:
    """Everything that distinguishes one genre of generated piece.

    Attributes:
        name: key of the style, also its main genre word.
        genre_words: synonyms used in text descriptions.
        tempo: inclusive BPM range.
        three_four: probability of a 3/4 meter (1.0 = always).
        swing: range of the swung eighth position (0.5 = straight, 2/3 = triplet).
        progressions: names of :data:`jasco_core.training.harmony.PROGRESSIONS`.
        bars_per_chord: harmonic-rhythm choices (0.5 = two chords per bar).
        extension_prob: chance to turn a plain triad into a seventh/sixth chord.
        drum_patterns: names in :data:`jasco_core.training.drum_patterns.PATTERNS`.
        drum_kits: GM drum-kit programs (bank 128).
        no_drums_prob: chance the piece has no drums at all.
        bass_styles / bass_programs: bass-line algorithms and GM programs.
        comp_styles / comp_programs: accompaniment rhythms and GM programs.
        lead_programs: GM programs for the monophonic lead.
        melody_density: rhythm-cell family for the lead ("slow", "medium", "busy").
        moods: style-specific mood words added to the generic ones.
    """

    name: str
    genre_words: tuple[str, ...]
    tempo: tuple[int, int]
    three_four: float
    swing: tuple[float, float]
    progressions: tuple[str, ...]
    bars_per_chord: tuple[float, ...]
    extension_prob: float
    drum_patterns: tuple[str, ...]
    drum_kits: tuple[int, ...]
    no_drums_prob: float
    bass_styles: tuple[str, ...]
    bass_programs: tuple[int, ...]
    comp_styles: tuple[str, ...]
    comp_programs: tuple[int, ...]
    lead_programs: tuple[int, ...]
    melody_density: tuple[str, ...]
    moods: tuple[str, ...]


_STYLE_LIST = (
    Style(
        name="pop",
        genre_words=("pop", "pop", "soft pop", "indie pop"),
        tempo=(84, 128),
        three_four=0.05,
        swing=(0.5, 0.5),
        progressions=("axis", "doo_wop", "royal_road", "sensitive", "descending_bass", "pop_IV_V", "secondary_dominant"),
        bars_per_chord=(1.0, 1.0, 0.5, 2.0),
        extension_prob=0.2,
        drum_patterns=("pop", "rock"),
        drum_kits=(0, 8),
        no_drums_prob=0.1,
        bass_styles=("roots8", "roots_half", "root_fifth"),
        bass_programs=(33, 34, 38),
        comp_styles=("block_half", "arpeggio", "strum", "pad"),
        comp_programs=(0, 4, 25, 27, 48, 89),
        lead_programs=(73, 80, 11, 65, 40, 71, 81, 56),
        melody_density=("medium", "medium", "slow"),
        moods=("catchy", "bright", "feel-good"),
    ),
    Style(
        name="rock",
        genre_words=("rock", "rock", "classic rock", "garage rock"),
        tempo=(100, 160),
        three_four=0.0,
        swing=(0.5, 0.5),
        progressions=("rock_I_IV_V", "mixolydian_rock", "axis", "minor_rock", "aeolian"),
        bars_per_chord=(1.0, 0.5, 1.0),
        extension_prob=0.05,
        drum_patterns=("rock",),
        drum_kits=(0, 16, 8),
        no_drums_prob=0.03,
        bass_styles=("roots8",),
        bass_programs=(34, 33),
        comp_styles=("strum", "block_beats", "strum"),
        comp_programs=(29, 30, 27, 16, 0),
        lead_programs=(29, 81, 65, 56, 80, 30),
        melody_density=("medium", "busy"),
        moods=("energetic", "driving", "gritty"),
    ),
    Style(
        name="funk",
        genre_words=("funk", "funky", "funk", "disco funk"),
        tempo=(92, 122),
        three_four=0.0,
        swing=(0.5, 0.54),
        progressions=("funk_dominant", "dorian_vamp", "funk_minor", "funk_ii_V"),
        bars_per_chord=(1.0, 2.0),
        extension_prob=0.6,
        drum_patterns=("funk",),
        drum_kits=(0, 8),
        no_drums_prob=0.03,
        bass_styles=("funk",),
        bass_programs=(36, 37, 33),
        comp_styles=("stabs",),
        comp_programs=(7, 27, 4, 16, 61),
        lead_programs=(65, 66, 56, 80, 62, 81),
        melody_density=("busy", "medium"),
        moods=("groovy", "tight", "danceable"),
    ),
    Style(
        name="jazz",
        genre_words=("jazz", "swing jazz", "jazz", "bebop-flavoured jazz", "small-combo jazz"),
        tempo=(90, 160),
        three_four=0.12,
        swing=(0.6, 0.67),
        progressions=("ii_V_I", "rhythm_turnaround", "iii_vi_ii_V", "minor_ii_V_i", "passing_diminished", "jazz_line"),
        bars_per_chord=(1.0, 0.5, 1.0),
        extension_prob=0.9,
        drum_patterns=("swing", "brushes"),
        drum_kits=(32, 40, 0),
        no_drums_prob=0.1,
        bass_styles=("walking",),
        bass_programs=(32, 33, 35),
        comp_styles=("jazz_comp", "jazz_comp", "block_half"),
        comp_programs=(0, 4, 26),
        lead_programs=(66, 65, 56, 59, 11, 73, 26, 71),
        melody_density=("medium", "busy"),
        moods=("smooth", "mellow", "sophisticated"),
    ),
    Style(
        name="blues",
        genre_words=("blues", "shuffle blues", "blues", "twelve-bar blues"),
        tempo=(72, 132),
        three_four=0.0,
        swing=(0.64, 0.67),
        progressions=("blues", "quick_change_blues", "minor_blues"),
        bars_per_chord=(1.0,),
        extension_prob=0.2,
        drum_patterns=("shuffle",),
        drum_kits=(0, 8),
        no_drums_prob=0.08,
        bass_styles=("boogie", "walking"),
        bass_programs=(33, 32),
        comp_styles=("block_beats", "block_half", "jazz_comp"),
        comp_programs=(0, 16, 17, 27),
        lead_programs=(22, 65, 66, 29, 27, 56),
        melody_density=("medium",),
        moods=("soulful", "gritty", "bluesy"),
    ),
    Style(
        name="hip hop",
        genre_words=("hip hop", "hip-hop", "lo-fi hip hop", "boom bap"),
        tempo=(70, 98),
        three_four=0.0,
        swing=(0.5, 0.6),
        progressions=("minor_vamp", "neo_soul", "lofi_maj7", "aeolian", "minor_iv"),
        bars_per_chord=(1.0, 2.0),
        extension_prob=0.6,
        drum_patterns=("boom_bap",),
        drum_kits=(0, 25, 8),
        no_drums_prob=0.02,
        bass_styles=("boom",),
        bass_programs=(33, 38, 39, 32),
        comp_styles=("pad", "block_half", "arpeggio"),
        comp_programs=(4, 0, 48, 89, 5),
        lead_programs=(73, 11, 80, 65, 59, 12),
        melody_density=("medium", "slow"),
        moods=("laid-back", "chill", "nostalgic"),
    ),
    Style(
        name="electronic",
        genre_words=("electronic", "house", "synth-pop", "EDM", "electronic dance"),
        tempo=(116, 140),
        three_four=0.0,
        swing=(0.5, 0.5),
        progressions=("aeolian", "minor_rock", "sensitive", "axis", "minor_vamp", "epic_minor"),
        bars_per_chord=(1.0, 2.0, 0.5),
        extension_prob=0.15,
        drum_patterns=("four_on_floor",),
        drum_kits=(24, 25),
        no_drums_prob=0.03,
        bass_styles=("octave", "offbeat", "roots8"),
        bass_programs=(38, 39, 87),
        comp_styles=("pad", "offbeat", "arpeggio"),
        comp_programs=(89, 90, 81, 50, 94),
        lead_programs=(80, 81, 84, 83, 62, 98),
        melody_density=("medium", "busy"),
        moods=("hypnotic", "euphoric", "pulsing"),
    ),
    Style(
        name="bossa nova",
        genre_words=("bossa nova", "bossa", "brazilian bossa nova", "latin jazz"),
        tempo=(110, 146),
        three_four=0.0,
        swing=(0.5, 0.5),
        progressions=("ii_V_I", "bossa_two_chord", "minor_ii_V_i", "iii_vi_ii_V"),
        bars_per_chord=(1.0, 2.0),
        extension_prob=0.9,
        drum_patterns=("bossa",),
        drum_kits=(0, 32),
        no_drums_prob=0.12,
        bass_styles=("bossa",),
        bass_programs=(32, 33),
        comp_styles=("bossa_comp",),
        comp_programs=(24, 0, 4),
        lead_programs=(73, 66, 65, 71, 11, 22),
        melody_density=("medium", "slow"),
        moods=("breezy", "gentle", "warm"),
    ),
    Style(
        name="ballad",
        genre_words=("ballad", "romantic ballad", "soft ballad", "ballad"),
        tempo=(70, 88),
        three_four=0.12,
        swing=(0.5, 0.5),
        progressions=("axis", "doo_wop", "royal_road", "line_cliche", "descending_bass", "aeolian", "minor_iv"),
        bars_per_chord=(1.0, 2.0, 0.5),
        extension_prob=0.3,
        drum_patterns=("ballad",),
        drum_kits=(0, 8, 40),
        no_drums_prob=0.35,
        bass_styles=("roots_whole", "roots_half"),
        bass_programs=(33, 32, 35),
        comp_styles=("arpeggio", "pad", "block_half"),
        comp_programs=(0, 48, 49, 89, 46, 24),
        lead_programs=(40, 73, 68, 71, 60, 65, 41),
        melody_density=("slow", "medium"),
        moods=("tender", "emotional", "heartfelt"),
    ),
    Style(
        name="waltz",
        genre_words=("waltz", "folk waltz", "waltz", "musette waltz"),
        tempo=(90, 160),
        three_four=1.0,
        swing=(0.5, 0.5),
        progressions=("rock_I_IV_V", "I_vi_ii_V", "minor_cadence", "waltz_dominant"),
        bars_per_chord=(1.0, 2.0),
        extension_prob=0.15,
        drum_patterns=("waltz",),
        drum_kits=(0, 40),
        no_drums_prob=0.3,
        bass_styles=("waltz_one",),
        bass_programs=(32, 33, 58),
        comp_styles=("oompah",),
        comp_programs=(0, 21, 48, 45, 24),
        lead_programs=(40, 73, 21, 71, 68, 23),
        melody_density=("medium", "slow"),
        moods=("elegant", "graceful", "old-fashioned"),
    ),
    Style(
        name="ambient",
        genre_words=("ambient", "cinematic", "ambient", "ambient soundscape"),
        tempo=(70, 100),
        three_four=0.1,
        swing=(0.5, 0.5),
        progressions=("lydian_vamp", "aeolian", "plagal", "minor_vamp", "epic_minor"),
        bars_per_chord=(2.0, 1.0),
        extension_prob=0.35,
        drum_patterns=(),
        drum_kits=(0,),
        no_drums_prob=1.0,
        bass_styles=("sustained",),
        bass_programs=(35, 43, 32, 38),
        comp_styles=("pad",),
        comp_programs=(89, 94, 95, 49, 52, 91),
        lead_programs=(73, 75, 60, 40, 11, 46),
        melody_density=("slow",),
        moods=("atmospheric", "dreamy", "spacious"),
    ),
    Style(
        name="reggae",
        genre_words=("reggae", "roots reggae", "reggae", "dub-flavoured reggae"),
        tempo=(70, 96),
        three_four=0.0,
        swing=(0.5, 0.56),
        progressions=("reggae_two_chord", "rock_I_IV_V", "minor_vamp", "axis"),
        bars_per_chord=(1.0, 2.0),
        extension_prob=0.1,
        drum_patterns=("one_drop",),
        drum_kits=(0, 8),
        no_drums_prob=0.03,
        bass_styles=("reggae",),
        bass_programs=(33, 34, 38),
        comp_styles=("skank",),
        comp_programs=(16, 27, 28, 17),
        lead_programs=(65, 56, 80, 73, 22),
        melody_density=("medium", "slow"),
        moods=("relaxed", "sunny", "easy-going"),
    ),
    Style(
        name="country",
        genre_words=("country", "folk", "americana", "country folk"),
        tempo=(92, 150),
        three_four=0.1,
        swing=(0.5, 0.56),
        progressions=("rock_I_IV_V", "axis", "country_cadence", "doo_wop"),
        bars_per_chord=(1.0, 2.0),
        extension_prob=0.05,
        drum_patterns=("train",),
        drum_kits=(0, 40),
        no_drums_prob=0.2,
        bass_styles=("root_fifth",),
        bass_programs=(32, 33),
        comp_styles=("strum", "arpeggio"),
        comp_programs=(25, 24, 105, 0),
        lead_programs=(110, 22, 40, 73, 27, 21),
        melody_density=("medium",),
        moods=("homely", "rustic", "cheerful"),
    ),
)

#: Styles by name.
STYLES: dict[str, Style] = {style.name: style for style in _STYLE_LIST}

#: Names for the GM programs used above; the first is the canonical name.
INSTRUMENT_NAMES: dict[int, tuple[str, ...]] = {
    0: ("piano", "acoustic piano", "grand piano"),
    4: ("electric piano", "rhodes", "e-piano"),
    5: ("electric piano", "fm electric piano", "e-piano"),
    7: ("clavinet", "clav", "funky clavinet"),
    11: ("vibraphone", "vibes", "vibraphone"),
    12: ("marimba", "marimba", "mallets"),
    16: ("organ", "hammond organ", "drawbar organ"),
    17: ("organ", "percussive organ", "electric organ"),
    21: ("accordion", "accordion", "musette accordion"),
    22: ("harmonica", "blues harp", "harmonica"),
    23: ("bandoneon", "bandoneon", "tango accordion"),
    24: ("nylon guitar", "classical guitar", "acoustic guitar"),
    25: ("acoustic guitar", "steel-string guitar", "strummed acoustic guitar"),
    26: ("jazz guitar", "hollow-body guitar", "clean jazz guitar"),
    27: ("electric guitar", "clean guitar", "clean electric guitar"),
    28: ("muted guitar", "palm-muted guitar", "muted electric guitar"),
    29: ("overdriven guitar", "crunchy guitar", "overdriven electric guitar"),
    30: ("distorted guitar", "heavy guitar", "distortion guitar"),
    32: ("upright bass", "double bass", "acoustic bass"),
    33: ("bass guitar", "electric bass", "fingered bass"),
    34: ("picked bass", "electric bass", "bass guitar"),
    35: ("fretless bass", "fretless bass", "smooth fretless bass"),
    36: ("slap bass", "slap bass", "funky slap bass"),
    37: ("slap bass", "popping bass", "slap bass"),
    38: ("synth bass", "analog synth bass", "synth bass"),
    39: ("synth bass", "fat synth bass", "synth bass"),
    40: ("violin", "solo violin", "violin"),
    41: ("viola", "viola", "solo viola"),
    43: ("contrabass", "bowed bass", "contrabass"),
    45: ("pizzicato strings", "plucked strings", "pizzicato strings"),
    46: ("harp", "concert harp", "harp"),
    48: ("strings", "string section", "string ensemble"),
    49: ("slow strings", "lush strings", "string pads"),
    50: ("synth strings", "analog strings", "synth strings"),
    52: ("choir", "choir aahs", "vocal pad"),
    56: ("trumpet", "trumpet", "solo trumpet"),
    58: ("tuba", "tuba", "oom-pah tuba"),
    59: ("muted trumpet", "harmon-muted trumpet", "muted trumpet"),
    60: ("french horn", "horn", "french horn"),
    61: ("brass section", "horns", "brass section"),
    62: ("synth brass", "synth brass", "brassy synth"),
    65: ("alto sax", "saxophone", "alto saxophone"),
    66: ("tenor sax", "saxophone", "tenor saxophone"),
    68: ("oboe", "oboe", "solo oboe"),
    71: ("clarinet", "clarinet", "solo clarinet"),
    73: ("flute", "flute", "airy flute"),
    75: ("pan flute", "pan pipes", "pan flute"),
    80: ("square lead", "synth lead", "chiptune lead"),
    81: ("saw lead", "synth lead", "sawtooth lead"),
    83: ("chiff lead", "synth lead", "breathy synth lead"),
    84: ("charang lead", "synth lead", "distorted synth lead"),
    87: ("bass and lead synth", "synth bass", "bass synth"),
    89: ("warm pad", "synth pad", "pad"),
    90: ("polysynth", "poly synth", "synth chords"),
    91: ("space pad", "airy pad", "synth pad"),
    94: ("halo pad", "shimmering pad", "synth pad"),
    95: ("sweep pad", "evolving pad", "synth pad"),
    98: ("crystal synth", "bell synth", "glassy synth"),
    105: ("banjo", "banjo", "picked banjo"),
    110: ("fiddle", "country fiddle", "fiddle"),
}

#: Names of the GM drum kits (bank 128 programs) of the bundled soundfont.
DRUM_KIT_NAMES: dict[int, tuple[str, ...]] = {
    0: ("drums", "drum kit", "acoustic drums"),
    8: ("drums", "room drums", "roomy drum kit"),
    16: ("drums", "power drums", "big rock drums"),
    24: ("electronic drums", "drum machine", "electronic beat"),
    25: ("808 drums", "TR-808 drum machine", "808 beat"),
    32: ("jazz drums", "jazz kit", "drums"),
    40: ("brushed drums", "brushes", "brush kit"),
}


def instrument_name(program: int, is_drum: bool = False) -> str:
    """Canonical name of a GM program (or drum kit)."""
    table = DRUM_KIT_NAMES if is_drum else INSTRUMENT_NAMES
    names = table.get(int(program))
    return names[0] if names else (f"drum kit {program}" if is_drum else f"program {program}")
