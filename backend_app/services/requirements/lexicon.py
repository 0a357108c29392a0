"""Word lists the rule engine matches, in English and German (our own selection).

Vague terms carry the placeholder the offline rewrite puts in their place: a time bound,
a number or a measurable criterion.
"""

from __future__ import annotations

TIME, NUMBER, QUALITY = "time", "number", "quality"

VAGUE = {
    "en": {
        TIME: ["fast", "quick", "quickly", "rapid", "rapidly", "timely", "promptly", "responsive", "slow",
               "as soon as possible", "in real time", "real-time", "immediately", "without delay", "speedy"],
        NUMBER: ["several", "many", "few", "some", "various", "numerous", "large", "small", "high", "low",
                 "minimal", "approximately", "roughly", "a lot of", "enough"],
        QUALITY: ["user-friendly", "user friendly", "easy", "easily", "easy to use", "simple", "simply",
                  "efficient", "efficiently", "adequate", "adequately", "appropriate", "appropriately",
                  "sufficient", "sufficiently", "reasonable", "reasonably", "flexible", "robust", "intuitive",
                  "seamless", "seamlessly", "state-of-the-art", "modern", "normal", "typical", "significant",
                  "good", "better", "best", "optimal", "optimally", "acceptable", "nice", "clean", "secure",
                  "securely", "safe", "safely", "reliable", "reliably", "convenient", "conveniently", "smooth",
                  "smoothly", "powerful", "scalable", "proper", "properly", "effective", "effectively",
                  "relevant", "intuitively", "flexibly", "robustly"],
    },
    "de": {
        TIME: ["schnell", "schnelle", "schneller", "zügig", "zeitnah", "unverzüglich", "sofort", "umgehend",
               "performant", "langsam", "in Echtzeit", "ohne Verzögerung"],
        NUMBER: ["einige", "mehrere", "viele", "wenige", "diverse", "zahlreiche", "groß", "große", "großen",
                 "klein", "kleine", "hoch", "hohe", "hohen", "gering", "geringe", "ca.", "etwa", "ungefähr",
                 "circa", "genug"],
        QUALITY: ["benutzerfreundlich", "benutzerfreundliche", "einfach", "einfache", "intuitiv", "intuitive",
                  "angemessen", "angemessene", "ausreichend", "ausreichende", "geeignet", "geeignete",
                  "effizient", "effiziente", "flexibel", "flexible", "robust", "robuste", "modern", "moderne",
                  "übersichtlich", "komfortabel", "ordnungsgemäß", "gut", "gute", "besser", "optimal",
                  "zuverlässig", "sicher", "sichere", "reibungslos", "skalierbar", "ordentlich", "sinnvoll",
                  "effektiv", "relevant", "relevante"],
    },
}

ESCAPE = {
    "en": ["where possible", "if possible", "as far as possible", "as much as possible", "if practical",
           "where practical", "where practicable", "if practicable", "if necessary", "where necessary",
           "as appropriate", "as required", "as needed", "if needed", "to the extent possible",
           "to the extent practical", "if feasible", "where feasible", "where applicable", "if applicable",
           "when convenient", "ideally", "preferably", "if time permits", "as possible"],
    "de": ["soweit möglich", "sofern möglich", "wenn möglich", "falls möglich", "nach Möglichkeit",
           "möglichst", "falls nötig", "falls notwendig", "falls erforderlich", "bei Bedarf", "wenn praktikabel",
           "sofern sinnvoll", "wenn sinnvoll", "gegebenenfalls", "ggf.", "idealerweise", "vorzugsweise",
           "im Rahmen der Möglichkeiten", "wie möglich"],
}

OPEN_ENDED = {
    "en": ["etc.", "etc", "and so on", "and so forth", "including but not limited to",
           "including, but not limited to", "among others", "or similar", "and the like", "and more",
           "such as", "e.g.", "for example", "for instance"],
    "de": ["usw.", "u.s.w.", "etc.", "und so weiter", "und so fort", "unter anderem", "u.a.", "u. a.",
           "einschließlich, aber nicht beschränkt auf", "einschließlich aber nicht beschränkt auf",
           "oder ähnliches", "o.ä.", "o. ä.", "und ähnliches", "z.B.", "z. B.", "zum Beispiel", "beispielsweise"],
}

INFINITIVES = {
    "en": ["be able to", "be capable of", "be capable to", "have the ability to", "have the capability to",
           "provide the ability to", "provide the capability to", "be designed to", "be enabled to"],
    "de": ["in der Lage sein", "fähig sein", "die Möglichkeit haben", "die Möglichkeit bieten",
           "die Fähigkeit haben", "imstande sein", "im Stande sein"],
}

ABSOLUTES = {
    "en": ["always", "never", "at all times", "under all circumstances", "under any circumstances",
           "completely", "totally", "entirely", "every time", "100%", "100 %", "100 percent", "zero downtime",
           "without exception", "all the time", "forever", "fully"],
    "de": ["immer", "nie", "niemals", "stets", "jederzeit", "zu jeder Zeit", "unter allen Umständen",
           "vollständig", "völlig", "ausnahmslos", "100%", "100 %", "100 Prozent", "ohne Ausnahme"],
}

NEGATIVES = {
    "en": ["not", "no", "none", "cannot", "can't", "won't", "shan't", "mustn't", "neither", "nor", "without"],
    "de": ["nicht", "kein", "keine", "keinen", "keiner", "keinem", "keines", "ohne", "weder", "noch nicht"],
}

PRONOUNS = {
    "en": ["it", "its", "they", "them", "their", "theirs", "he", "she", "him", "her", "his", "hers",
           "these", "those", "itself", "themselves"],
    "de": ["es", "er", "sie", "ihn", "ihm", "ihnen", "ihr", "ihre", "ihren", "ihrem", "ihrer", "seine",
           "seinen", "seinem", "seiner", "dessen", "deren"],
}

# Universal quantifiers over a set the requirement does not define ("all browsers", "any file"):
# INCOSE R32 asks for "each" over a defined set instead.
UNIVERSALS = {"en": ["all", "any", "both"],
              "de": ["alle", "allen", "aller", "sämtliche", "sämtlichen", "beliebige", "beliebigen", "beide", "beiden"]}

COMBINATORS = {"en": ["and", "or", "but", "unless", "whereas", "as well as", "both"],
               "de": ["und", "oder", "sowie", "bzw.", "beziehungsweise", "aber", "sowohl"]}
OBLIQUE = {"en": ["and/or", "or/and"], "de": ["und/oder", "oder/und"]}

MODALS = {"en": ["shall", "must", "will"], "de": ["muss", "müssen", "soll", "sollen", "darf", "dürfen", "wird"]}
WEAK_MODALS = {"en": ["should", "may", "might", "could", "can", "would"],
               "de": ["sollte", "sollten", "kann", "können", "könnte", "könnten", "dürfte", "möchte"]}

# A statement about speed, load or capacity: it needs a number, a unit and a bound.
PERFORMANCE = {
    "en": ["respond", "responds", "response time", "latency", "throughput", "performance", "speed",
           "availability", "uptime", "capacity", "concurrent", "concurrently", "delay", "per second",
           "load time", "startup time", "reaction time"],
    "de": ["reagieren", "reagiert", "Antwortzeit", "Reaktionszeit", "Latenz", "Durchsatz", "Leistung",
           "Geschwindigkeit", "Verfügbarkeit", "Kapazität", "gleichzeitig", "Verzögerung", "Ladezeit",
           "pro Sekunde", "Startzeit"],
}
UNITS = ["ms", "millisecond", "milliseconds", "s", "sec", "secs", "second", "seconds", "min", "mins", "minute",
         "minutes", "h", "hr", "hrs", "hour", "hours", "day", "days", "%", "percent", "users", "user",
         "requests", "request", "sessions", "connections", "transactions", "rows", "records", "items", "files", "b", "kb", "mb", "gb", "tb",
         "kib", "mib", "gib", "bit/s", "kbit/s", "mbit/s", "gbit/s", "fps", "hz", "khz", "mhz", "ghz", "px",
         "°c", "kg", "g", "m", "cm", "mm", "km", "km/h", "l", "ml", "v", "w", "kw", "a", "dpi", "sekunde", "sekunden",
         "bar", "mbar", "pa", "kpa", "mpa", "psi", "k", "°f", "n", "nm", "kn", "db", "mw", "kwh", "wh", "ma", "mv",
         "kv", "t", "µm", "m/s", "m²", "m³", "rpm", "lux", "cd", "mol", "grad", "volt", "watt", "ampere", "meter",
         "metres", "meters", "kilogram", "kilograms", "degrees", "liters", "litres",
         "millisekunden", "minute", "minuten", "stunde", "stunden", "tag", "tage", "tagen", "prozent",
         "nutzer", "benutzer", "anfragen", "anfrage", "sitzungen", "verbindungen", "datensätze", "dateien", "zeilen", "<unit>", "<einheit>"]
BOUNDS = {"en": ["within", "at most", "at least", "no more than", "no less than", "not more than",
                 "not less than", "less than", "more than", "fewer than", "up to", "maximum", "minimum",
                 "no later than", "not later than", "under", "below", "above", "over", "or less", "or more"],
          "de": ["innerhalb", "höchstens", "mindestens", "maximal", "minimal", "bis zu", "weniger als",
                 "mehr als", "unter", "über", "spätestens", "max.", "min.", "oder weniger", "oder mehr"]}
BOUND_SYMBOLS = ["±", "+/-", "<=", ">=", "≤", "≥", "<", ">"]
RANGES = {"en": r"between\s+\S+(?:\s+\S+)?\s+and\s+\S+", "de": r"zwischen\s+\S+(?:\s+\S+)?\s+und\s+\S+"}

AGENT = {"en": ["by"], "de": ["von", "vom", "durch"]}

# Function words that tell the two languages apart.
STOPWORDS = {
    "en": {"the", "a", "an", "shall", "must", "will", "be", "is", "are", "of", "to", "and", "or", "within",
           "system", "user", "each", "when", "if", "with", "for", "on", "in", "not", "all", "should"},
    "de": {"der", "die", "das", "ein", "eine", "muss", "soll", "darf", "wird", "werden", "ist", "sind", "und",
           "oder", "von", "zu", "mit", "für", "nicht", "innerhalb", "den", "dem", "des", "alle", "jede",
           "sein", "system", "benutzer", "wenn", "auf", "im", "sollte", "kann", "müssen", "sollen"},
}
