"""The curated English/German lexicon the answer layer reads questions with (understand.py).

Why a lexicon and not an embedding model: no PyPI package we could verify ships a small
multilingual embedding model's weights for offline use (the ones that exist download weights
at run time, which a self-hosted install without internet cannot do), and the analysis writes
a closed vocabulary (light, motion, sharpness, faces, QR codes, colours). A lexicon of that
vocabulary's English and German paraphrases is exact, tiny (a few hundred words), needs no
download and runs in microseconds; ``query.DOCUMENT_WORDS`` feeds the same kind of paraphrases
into retrieval's query expansion. Words are folded (lower case, no diacritics): "längste" is
"langste" here.
"""

from __future__ import annotations

# Superlative word (folded) -> (measure, "max"/"min"). German forms are matched by prefix.
SUPERLATIVES = {
    "darkest": ("brightness", "min"),
    "dimmest": ("brightness", "min"),
    "brightest": ("brightness", "max"),
    "lightest": ("brightness", "max"),
    "longest": ("duration", "max"),
    "shortest": ("duration", "min"),
    "briefest": ("duration", "min"),
    "blurriest": ("sharpness", "min"),
    "softest": ("sharpness", "min"),
    "sharpest": ("sharpness", "max"),
    "crispest": ("sharpness", "max"),
    "fastest": ("motion", "max"),
    "busiest": ("motion", "max"),
    "stillest": ("motion", "min"),
    "calmest": ("motion", "min"),
    "slowest": ("motion", "min"),
    "quietest": ("motion", "min"),
}
GERMAN_SUPERLATIVES = {
    "dunkelst": ("brightness", "min"),
    "finsterst": ("brightness", "min"),
    "hellst": ("brightness", "max"),
    "langst": ("duration", "max"),
    "kurzest": ("duration", "min"),
    "unscharfst": ("sharpness", "min"),
    "scharfst": ("sharpness", "max"),
    "schnellst": ("motion", "max"),
    "bewegtest": ("motion", "max"),
    "ruhigst": ("motion", "min"),
    "langsamst": ("motion", "min"),
}
# "most motion", "meiste Bewegung", "most faces": a quantity word after most/least.
MOST = {"most": "max", "meiste": "max", "meisten": "max", "least": "min", "wenigste": "min", "wenigsten": "min"}
QUANTITIES = {
    "motion": "motion",
    "movement": "motion",
    "action": "motion",
    "bewegung": "motion",
    "faces": "faces",
    "face": "faces",
    "people": "faces",
    "persons": "faces",
    "gesichter": "faces",
    "personen": "faces",
    "menschen": "faces",
    "leute": "faces",
    "shots": "shots",
    "scenes": "shots",
    "szenen": "shots",
    "einstellungen": "shots",
    "light": "brightness",
    "licht": "brightness",
}
SHOT_WORDS = frozenset(
    "shot shots scene scenes cut take szene szenen einstellung einstellungen aufnahme aufnahmen schnitt".split()
)
VIDEO_WORDS = frozenset("video videos clip clips film films movie movies file files filme datei dateien".split())
COUNTABLE = {
    **dict.fromkeys(SHOT_WORDS - {"cut", "schnitt"}, "shots"),
    **dict.fromkeys(VIDEO_WORDS, "videos"),
    **dict.fromkeys(
        "face faces people person persons someone anyone humans human gesicht gesichter person personen "
        "menschen mensch leute jemand".split(),
        "faces",
    ),
    **dict.fromkeys("qr code codes qrcode qrcodes".split(), "qr"),
}
PRESENCE_THINGS = {
    **{k: v for k, v in COUNTABLE.items() if v in ("faces", "qr")},
    **dict.fromkeys("text texts writing words caption captions subtitles schrift untertitel".split(), "text"),
}
COLOURS = {
    "red": "red",
    "rot": "red",
    "rote": "red",
    "roten": "red",
    "roter": "red",
    "green": "green",
    "grun": "green",
    "grune": "green",
    "grunen": "green",
    "gruner": "green",
    "blue": "blue",
    "blau": "blue",
    "blaue": "blue",
    "blauen": "blue",
    "yellow": "yellow",
    "gelb": "yellow",
    "gelbe": "yellow",
    "gelben": "yellow",
    "orange": "orange",
    "purple": "purple",
    "violet": "purple",
    "lila": "purple",
    "violett": "purple",
    "pink": "pink",
    "rosa": "pink",
    "white": "white",
    "weiss": "white",
    "weisse": "white",
    "black": "black",
    "schwarz": "black",
    "schwarze": "black",
    "gray": "gray",
    "grey": "gray",
    "grau": "gray",
    "graue": "gray",
    "brown": "brown",
    "braun": "brown",
    "cyan": "cyan",
    "turquoise": "cyan",
    "turkis": "cyan",
}
# Plain adjectives a shot can be asked to have ("is any shot dark?"): measured words.
BLUR_WORDS = {w: "blurry" for w in ("blurry", "blurred", "blur", "unsharp", "unscharf", "verschwommen", "verwackelt")}
LIGHT_WORDS = {"dark": "dark", "dim": "dark", "night": "dark", "dunkel": "dark", "nacht": "dark", "finster": "dark"}
ORDINALS = {
    **dict.fromkeys(("first", "1st", "erste", "ersten", "erster", "erstes"), 0),
    **dict.fromkeys(("second", "2nd", "zweite", "zweiten", "zweiter", "zweites"), 1),
    **dict.fromkeys(("third", "3rd", "dritte", "dritten", "dritter", "drittes"), 2),
    **dict.fromkeys(("fourth", "4th", "vierte", "vierten", "vierter"), 3),
    **dict.fromkeys(("fifth", "5th", "funfte", "funften", "funfter"), 4),
    **dict.fromkeys(("sixth", "6th", "sechste", "sechsten"), 5),
    **dict.fromkeys(("seventh", "7th", "siebte", "siebten"), 6),
    **dict.fromkeys(("eighth", "8th", "achte", "achten"), 7),
    **dict.fromkeys(("ninth", "9th", "neunte", "neunten"), 8),
    **dict.fromkeys(("tenth", "10th", "zehnte", "zehnten"), 9),
    **dict.fromkeys(("last", "final", "letzte", "letzten", "letzter", "letztes"), -1),
    **dict.fromkeys(("penultimate", "vorletzte", "vorletzten"), -2),
}
NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eins": 1,
    "zwei": 2,
    "drei": 3,
    "vier": 4,
    "funf": 5,
    "sechs": 6,
    "sieben": 7,
    "acht": 8,
    "neun": 9,
    "zehn": 10,
}
STEPS = {
    "nach": 1,
    "vor": -1,
    **dict.fromkeys("before previous prior preceding davor vorher vorige vorigen vorherige vorherigen".split(), -1),
    **dict.fromkeys("after next following afterwards danach nachher nachste nachsten folgende folgenden".split(), 1),
}
SPEECH = frozenset(
    "say says said saying speak speaks spoken speech talk talks talking dialogue transcript narrator sing sings "
    "sagt sagen gesagt spricht sprechen gesprochen rede dialog".split()
)
# Questions about who/why/what-name: the analysis measures pictures, it does not know people or reasons.
UNKNOWABLE = frozenset("who whom whose why name named called wer warum wieso weshalb heisst namen name".split())
# Words a presence question may hold besides the thing it asks about ("is there anything red to see?").
FILLER = frozenset(
    "anything something everything anyone somebody visible seen see show shows etwas irgendwas irgendetwas "
    "sehen sichtbar zeigt zu mit any mostly say says read reads written contain contains steht sagt lesen enthalt "
    "screen onscreen bildschirm appear appears appearing kommt erscheint auftaucht taucht auf visible come comes".split()
)


def lexicon(table: dict[str, str], token: str) -> str | None:
    """The token's entry, also through a German adjective ending ("gelbes", "dunklen")."""
    if token in table:
        return table[token]
    for ending in ("es", "em", "en", "er", "e"):
        if token.endswith(ending) and len(token) > len(ending) + 2:
            stem = token[: -len(ending)]
            for form in (stem, stem + "e", stem[:-1] + "el" if stem.endswith("l") else stem):
                if form in table:
                    return table[form]
    return None


# Words a question uses for what it asks about: a filename stem that is one of these ("faces",
# "qr", "red") names the video only with its extension.
QUESTION_WORDS = frozenset(
    {*SUPERLATIVES, *MOST, *QUANTITIES, *SHOT_WORDS, *VIDEO_WORDS, *COUNTABLE, *PRESENCE_THINGS, *COLOURS}
    | {*LIGHT_WORDS, *BLUR_WORDS, *ORDINALS, *NUMBERS, *STEPS, "bright", "motion", "static", "blurry", "sharp"}
)


# Comparatives a threshold question uses ("darker than 0.2", "länger als 2 Sekunden").
COMPARATIVES = {
    "darker": ("brightness", "<"),
    "dimmer": ("brightness", "<"),
    "brighter": ("brightness", ">"),
    "lighter": ("brightness", ">"),
    "longer": ("duration", ">"),
    "shorter": ("duration", "<"),
    "sharper": ("sharpness", ">"),
    "blurrier": ("sharpness", "<"),
    "faster": ("motion", ">"),
    "slower": ("motion", "<"),
    "dunkler": ("brightness", "<"),
    "heller": ("brightness", ">"),
    "langer": ("duration", ">"),
    "kurzer": ("duration", "<"),
    "scharfer": ("sharpness", ">"),
    "unscharfer": ("sharpness", "<"),
    "schneller": ("motion", ">"),
    "langsamer": ("motion", "<"),
}
# A measure named in a question ("how bright is shot 2?", "die Helligkeit der ersten Szene").
MEASURE_WORDS = {
    "brightness": "brightness",
    "bright": "brightness",
    "helligkeit": "brightness",
    "hell": "brightness",
    "motion": "motion",
    "movement": "motion",
    "bewegung": "motion",
    "sharpness": "sharpness",
    "sharp": "sharpness",
    "scharfe": "sharpness",
    "duration": "duration",
    "dauer": "duration",
}
AVERAGE = frozenset("average mean durchschnitt durchschnittlich durchschnittliche durchschnittlichen".split())
SUMMARY = frozenset(
    "describe beschreibe list summarize summarise summary overview zusammenfassung zusammenfassen uberblick".split()
)
# The words describe.signal_words writes for the top light level and the lowest motion level.
BRIGHT_WORDS = {w: "bright" for w in ("bright", "hell", "sunny", "sonnig")}
STILL_WORDS = {w: "static" for w in ("static", "still", "motionless", "ruhig", "statisch", "unbewegt")}
INVERTED = {"blurry": "sharpness", "blurred": "sharpness", "unscharf": "sharpness", "dark": "brightness"}
# What was said, shown as text, and read in documents (services/chat/said.py): the words that
# frame such a question, never a topic to look for ("when does someone say lighthouse?").
SAID_WORDS = SPEECH | frozenset(
    "mention mentions mentioned mentioning someone somebody anyone narrator speaker voice voices audio words word "
    "jemand sprecher sprecherin erzahler erzahlerin stimme erwahnt erwahnen gesprochen wird wurde uber".split()
)
SCREEN_WORDS = frozenset(
    "text texts writing written caption captions subtitle subtitles sign signs slide slides title titles screen "
    "onscreen displayed display lettering schrift untertitel bildschirm eingeblendet einblendung steht geschrieben "
    "schild schilder folie folien".split()
)
PEOPLE_WORDS = frozenset(
    "people persons person different individuals personen person menschen leute verschiedene".split()
)
SAME_PERSON = frozenset("same dieselbe derselben dieselben gleiche gleichen selbe selben again wieder".split())
FRAME_WORDS = frozenset(
    "appear appears appeared appearing show shows shown read reads visible seen see say says said when where what "
    "which how many does do did is are was were erscheint erscheinen zeigt zeigen sieht sehen wann wo welche welcher "
    "welches welchen wie viele gibt es kommt kommen vor im in on auf dem den der die das video videos clip clips "
    "page pages seite seiten chapter chapters kapitel section abschnitt part teil about tell me us".split()
)
