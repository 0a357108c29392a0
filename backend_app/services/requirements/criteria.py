"""The quality criteria a requirement is scored against, and the rules each draws on.

A rule id is the INCOSE Guide for Writing Requirements rule it implements (ids and names
only; the wording here is ours). Every rule has one *primary* criterion (the ``criterion``
of its findings), and may weigh on further criteria: a criterion's score counts every
finding of every rule listed under it.
"""

from __future__ import annotations

from backend_app.errors import ValidationError

CRITERIA: dict[str, dict] = {
    "clarity": {
        "name": "Clarity",
        "description": "One reading only: no vague words, filler infinitives, pronouns or agentless passives.",
        "rules": ["R7", "R10", "R24", "R2"],
    },
    "testability": {
        "name": "Testability",
        "description": "A test can pass or fail it: measurable, no escape clauses, no absolutes no test can prove.",
        "rules": ["R34", "R8", "R26", "R7"],
    },
    "measurability": {
        "name": "Measurability",
        "description": "Performance is stated as numbers with units and a bound or tolerance.",
        "rules": ["R34", "R6", "R33"],
    },
    "singularity": {
        "name": "Singularity",
        "description": "One requirement per sentence: a single modal verb, no combinators or oblique choices.",
        "rules": ["R18", "R19", "R17"],
    },
    "completeness": {
        "name": "Completeness",
        "description": "Who does what is stated: a subject, a modal verb, an agent, and a closed list.",
        "rules": ["R3", "R1", "R9", "R2"],
    },
    "unambiguity": {
        "name": "Unambiguity",
        "description": "No word that readers can resolve differently: vague terms, pronouns, and/or, open lists, negations.",
        "rules": ["R7", "R24", "R17", "R9", "R16", "R32"],
    },
    "feasibility": {
        "name": "Feasibility",
        "description": "It can be built and verified: no absolutes such as 'always' or '100 %', no unbounded lists.",
        "rules": ["R26", "R9", "R33", "R32"],
    },
    "conformity": {
        "name": "Conformity",
        "description": "Follows the house template: '<subject> shall <verb> <object> <condition>', active and positive.",
        "rules": ["R1", "R3", "R2", "R16", "R10"],
    },
}

# Points a finding takes off every criterion that draws on its rule.
PENALTIES = {"high": 30, "medium": 15, "low": 5}
HIGH_CAP = 79  # the highest overall score a requirement with a high-severity finding gets

SCORING = {
    "formula": (
        "score(criterion) = max(0, 100 - sum(penalty[severity] for each finding whose rule the "
        "criterion draws on)); overall = round(mean of the requested criteria's scores), at most "
        f"{HIGH_CAP} when any of their findings is high-severity (never in the 80+ 'good' band)"
    ),
    "penalties": PENALTIES,
    "range": [0, 100],
}


def resolve(keys: list[str] | None) -> list[str]:
    """The requested criteria keys (all when none are given), or a coded 422 for unknown ones."""
    if not keys:
        return list(CRITERIA)
    if not all(isinstance(k, str) for k in keys):
        raise ValidationError(
            "criteriaKeys must be a list of strings.", details={"fields": {"criteriaKeys": "must be a list of strings"}}
        )
    unknown = [k for k in keys if k not in CRITERIA]
    if unknown:
        raise ValidationError(
            "Unknown criteria keys.", code="UNKNOWN_CRITERIA", details={"unknown": unknown, "known": list(CRITERIA)}
        )
    return list(dict.fromkeys(keys))


def rules_for(keys: list[str]) -> set[str]:
    """Every rule id that at least one of the criteria draws on."""
    return {rule for key in keys for rule in CRITERIA[key]["rules"]}


def score(findings: list[dict], keys: list[str]) -> tuple[dict[str, int], int]:
    """Per-criterion scores and the overall score, by the formula in ``SCORING``."""
    scores = {}
    for key in keys:
        drawn = set(CRITERIA[key]["rules"])
        lost = sum(PENALTIES[f["severity"]] for f in findings if f["rule_id"] in drawn)
        scores[key] = max(0, 100 - lost)
    overall = round(sum(scores.values()) / len(scores)) if scores else 100
    drawn = rules_for(keys)
    if any(f["severity"] == "high" for f in findings if f["rule_id"] in drawn):
        # The mean of eight criteria hid it: "The data is stored." (no modal verb) scored 87, "good".
        overall = min(overall, HIGH_CAP)
    return scores, overall


def catalogue(rules: dict[str, dict]) -> list[dict]:
    """The criteria as the API lists them, with each rule's id and name."""
    return [
        {
            "key": key,
            "name": c["name"],
            "description": c["description"],
            "rules": [{"id": r, "name": rules[r]["name"]} for r in c["rules"]],
        }
        for key, c in CRITERIA.items()
    ]
