"""The v1 evaluator: the rule engine over one requirement, in English or German.

Scoring (also returned as ``scoring`` in every result): each finding has a severity with a
penalty (high 30, medium 15, low 5). A criterion's score is
``max(0, 100 - sum of the penalties of the findings whose rule the criterion draws on)``
(see ``criteria.CRITERIA`` for which rules each criterion draws on); the overall score is
the rounded mean of the requested criteria's scores. A requirement without findings scores
100 everywhere.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from backend_app.services.requirements import criteria as crit
from backend_app.services.requirements import lexicon as lx
from backend_app.services.requirements.rules import DETECTORS, RULES, SUPPRESSED_BY, Span, bounds, vague_category

ENGINE_V1 = "rules-v1"
_WORD = re.compile(r"[A-Za-zÄÖÜäöüß]+")
_UMLAUT = re.compile(r"[äöüß]", re.IGNORECASE)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def detect_language(text: str, context: dict | None = None) -> str:
    """'de' or 'en': the context's ``language`` when given, else by counting function words."""
    wanted = str((context or {}).get("language", "")).lower()[:2]
    if wanted in ("de", "en"):
        return wanted
    words = [w.lower() for w in _WORD.findall(text)]
    de = sum(w in lx.STOPWORDS["de"] for w in words) + 2 * bool(_UMLAUT.search(text))
    en = sum(w in lx.STOPWORDS["en"] for w in words)
    return "de" if de > en else "en"


def _overlaps(span: Span, others: list[Span]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in others)


def raw_findings(text: str, lang: str) -> dict[str, list[Span]]:
    """Every rule's spans, after dropping those shadowed by a stronger phrase (SUPPRESSED_BY)."""
    spans = {rule_id: sorted(set(detect(text, lang))) for rule_id, detect in DETECTORS.items()}
    spans["bound"] = bounds(text, lang)
    out = {}
    for rule_id in RULES:
        shields = [s for other in SUPPRESSED_BY.get(rule_id, ()) for s in spans.get(other, [])]
        out[rule_id] = [s for s in spans[rule_id] if not _overlaps(s, shields)]
    return out


# The binding modal verb for each weak one (German by number: "sollten" -> "müssen").
STRONG_FOR_WEAK = {
    "en": {w: "shall" for w in ("should", "may", "might", "could", "can", "would")},
    "de": {
        "sollte": "muss",
        "kann": "muss",
        "könnte": "muss",
        "dürfte": "muss",
        "möchte": "muss",
        "sollten": "müssen",
        "können": "müssen",
        "könnten": "müssen",
    },
}


def replacement(rule_id: str, words: str, lang: str) -> str | None:
    """The concrete text a finding's words could be replaced with (placeholders in <…>), or None."""
    de = lang == "de"
    low = " ".join(words.lower().split())
    if rule_id == "R7":
        category = vague_category(words, lang)
        return {
            lx.TIME: "innerhalb von <Wert> <Einheit>" if de else "within <value> <unit>",
            lx.NUMBER: "<Anzahl>" if de else "<number>",
            lx.QUALITY: "<messbares Kriterium>" if de else "<measurable criterion>",
        }[category]
    if rule_id == "R8":
        return ""
    if rule_id == "R9":
        closed = {
            "such as",
            "e.g.",
            "for example",
            "for instance",
            "including but not limited to",
            "including, but not limited to",
            "z.b.",
            "z. b.",
            "zum beispiel",
            "beispielsweise",
            "einschließlich, aber nicht beschränkt auf",
            "einschließlich aber nicht beschränkt auf",
        }
        return ("nämlich" if de else "namely") if low in closed else ""
    if rule_id == "R10":
        return "" if low in ("be able to", "have the ability to", "have the capability to", "be enabled to") else None
    if rule_id == "R17":
        return "<und|oder>" if de else "<and|or>"
    if rule_id == "R24":
        return "<Bezugswort>" if de else "<referent>"
    if rule_id == "R1" and low in STRONG_FOR_WEAK[lang]:  # a weak modal: the binding one in its place
        return STRONG_FOR_WEAK[lang][low]
    if rule_id == "R26":
        if low.startswith("100"):
            return "<Wert> %" if de else "<value> %"
        return None if low in ("never", "nie", "niemals") else ""
    if rule_id == "R6":
        return f"{words} {'<Einheit>' if de else '<unit>'}"
    if rule_id == "R2":
        return f"von <Akteur> {words}" if de else f"{words} by <agent>"
    if rule_id == "R33":
        return f"{'<höchstens|mindestens>' if de else '<at most|at least>'} {words}"
    if rule_id == "R34" and vague_category(words, lang) != lx.TIME:
        if de:
            return (
                f"innerhalb von <Wert> <Einheit> {words}"
                if low.startswith("reagier")
                else f"{words} von <Wert> <Einheit>"
            )
        return f"{words} within <value> <unit>" if low.startswith("respond") else f"{words} of <value> <unit>"
    return None


def make_finding(
    rule_id: str,
    span: Span,
    text: str,
    lang: str,
    *,
    severity: str | None = None,
    message: str | None = None,
    suggestion: str | None = None,
) -> dict[str, Any]:
    """A finding in the one shape v1 and v2 share."""
    rule = RULES[rule_id]
    words = text[span[0] : span[1]]
    if rule_id == "R1" and span != (len(text) - len(text.lstrip()), len(text.rstrip())):
        severity = severity or "medium"
        message = message or "Only a weak modal verb ('should', 'may', 'kann'): the obligation is unclear."
    return {
        "rule_id": rule_id,
        "rule": rule["name"],
        "criterion": rule["criterion"],
        "severity": severity or rule["severity"],
        "span": [span[0], span[1]],
        "words": words,
        "message": message or rule["message"],
        "suggestion": suggestion or rule["suggestion"],
        "replacement": replacement(rule_id, words, lang),
    }


def findings_v1(text: str, lang: str) -> list[dict[str, Any]]:
    spans = raw_findings(text, lang)
    found = [make_finding(rule_id, span, text, lang) for rule_id, items in spans.items() for span in items]
    return sorted(found, key=lambda f: (f["span"][0], f["span"][1], int(f["rule_id"][1:])))


def result(
    text: str,
    lang: str,
    findings: list[dict],
    keys: list[str],
    *,
    variant: str,
    engine: str,
    note: str | None = None,
    requested_variant: str | None = None,
) -> dict[str, Any]:
    """The evaluation result: findings limited to the requested criteria, scores and how they were computed."""
    wanted = crit.rules_for(keys)
    findings = [f for f in findings if f["rule_id"] in wanted]
    scores, overall = crit.score(findings, keys)
    return {
        "variant": variant,
        "requested_variant": requested_variant or variant,
        "engine": engine,
        "note": note,
        "language": lang,
        "text_sha256": sha256(text),
        "criteria": keys,
        "scores": scores,
        "overall": overall,
        "findings": findings,
        "scoring": crit.SCORING,
    }


def evaluate_v1(
    text: str, context: dict | None, keys: list[str], *, requested_variant: str = "v1", note: str | None = None
) -> dict[str, Any]:
    """Evaluate one requirement with the rule engine."""
    lang = detect_language(text, context)
    return result(
        text,
        lang,
        findings_v1(text, lang),
        keys,
        variant="v1",
        engine=ENGINE_V1,
        note=note,
        requested_variant=requested_variant,
    )


def suggestions(res: dict[str, Any]) -> list[dict[str, Any]]:
    """Concrete fixes, one per finding: what to change, where, and (when there is one) the new text."""
    return [
        {
            "rule_id": f["rule_id"],
            "span": f["span"],
            "words": f["words"],
            "suggestion": f["suggestion"],
            "replacement": f.get("replacement"),
        }
        for f in res["findings"]
    ]


def storable(finding: dict[str, Any], *, ours: bool = True) -> dict[str, Any]:
    """A finding as it may be stored: rule, severity and span, with the catalogue's own wording.

    Never the requirement's words, and never model-written text (which may quote them). The
    rule engine's own replacement is kept as ``fix``, with the spanned words written as
    ``{words}`` (e.g. "{words} <unit>"), so a stored suggestion stays concrete.
    """
    rule = RULES[finding["rule_id"]]
    stored = {
        "rule_id": finding["rule_id"],
        "rule": rule["name"],
        "criterion": rule["criterion"],
        "severity": finding["severity"],
        "span": list(finding["span"]),
        "message": rule["message"],
        "suggestion": rule["suggestion"],
    }
    fix = finding.get("replacement")
    if ours and fix is not None:
        words = finding.get("words") or ""
        stored["fix"] = fix.replace(words, "{words}") if words else fix
    return stored
