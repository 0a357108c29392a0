"""The v1 rule engine against the suite's requirement table, plus spans, scoring and language."""

import pytest

from backend_app.services.requirements import criteria as crit
from backend_app.services.requirements import engine
from backend_app.services.requirements.rules import RULES
from tests.services.requirements.cases import CASES


def test_the_table_is_big_enough_and_bilingual():
    langs = [engine.detect_language(text) for text, _, _ in CASES]
    assert len(CASES) >= 40 and langs.count("de") >= 15 and langs.count("en") >= 15


@pytest.mark.parametrize("text,must,must_not", CASES, ids=[c[0][:40] for c in CASES])
def test_engine_raises_what_it_must_and_nothing_it_must_not(text, must, must_not):
    lang = engine.detect_language(text)
    raised = {f["rule_id"] for f in engine.findings_v1(text, lang)}
    assert must <= raised, f"missing {sorted(must - raised)}; raised {sorted(raised)}"
    assert not raised & must_not, f"unwanted {sorted(raised & must_not)}"


@pytest.mark.parametrize("text", [c[0] for c in CASES[::5]])
def test_every_finding_points_at_its_words_and_names_its_rule(text):
    lang = engine.detect_language(text)
    for f in engine.findings_v1(text, lang):
        start, end = f["span"]
        assert 0 <= start < end <= len(text) and text[start:end] == f["words"]
        assert f["rule"] == RULES[f["rule_id"]]["name"] and f["criterion"] in crit.CRITERIA
        assert f["severity"] in crit.PENALTIES and f["message"] and f["suggestion"]


def test_language_detection_and_context_override():
    assert engine.detect_language("Das System muss die Daten sichern.") == "de"
    assert engine.detect_language("The system shall back up the data.") == "en"
    assert engine.detect_language("The system shall back up the data.", {"language": "de"}) == "de"


def test_scores_follow_the_documented_formula():
    text = "The system shall be fast and user-friendly where possible."
    res = engine.evaluate_v1(text, None, list(crit.CRITERIA))
    findings = res["findings"]
    for key, value in res["scores"].items():
        drawn = set(crit.CRITERIA[key]["rules"])
        lost = sum(crit.PENALTIES[f["severity"]] for f in findings if f["rule_id"] in drawn)
        assert value == max(0, 100 - lost)
    mean = round(sum(res["scores"].values()) / len(res["scores"]))
    high = any(f["severity"] == "high" for f in res["findings"])
    assert res["overall"] == (min(mean, crit.HIGH_CAP) if high else mean)
    assert res["scores"]["testability"] == 0 and res["scores"]["clarity"] == 40
    assert "formula" in res["scoring"] and res["scoring"]["penalties"] == crit.PENALTIES


def test_a_clean_requirement_scores_100_everywhere():
    res = engine.evaluate_v1("Das System muss innerhalb von 2 Sekunden reagieren.", None, list(crit.CRITERIA))
    assert res["findings"] == [] and res["overall"] == 100 and set(res["scores"].values()) == {100}


def test_criteria_keys_limit_findings_and_scores():
    res = engine.evaluate_v1("The system shall be fast and user-friendly where possible.", None, ["singularity"])
    assert list(res["scores"]) == ["singularity"] and {f["rule_id"] for f in res["findings"]} == {"R19"}


def test_every_criterion_draws_on_known_rules_and_every_rule_is_used():
    used = {r for c in crit.CRITERIA.values() for r in c["rules"]}
    assert used <= set(RULES) and set(RULES) <= used
    assert {
        "clarity",
        "testability",
        "measurability",
        "singularity",
        "completeness",
        "unambiguity",
        "feasibility",
        "conformity",
    } <= set(crit.CRITERIA)


def test_stored_findings_never_carry_the_words():
    text = "Die Anwendung soll schnell und benutzerfreundlich sein, soweit möglich."
    for f in engine.findings_v1(text, "de"):
        stored = engine.storable(f)
        assert "words" not in stored and "replacement" not in stored
        assert not any(w in str(stored) for w in ("schnell", "benutzerfreundlich", "soweit"))
    fixes = [engine.storable(f)["fix"] for f in engine.findings_v1("The API shall answer within 5.", "en")]
    assert fixes == ["{words} <unit>"]  # concrete, without the requirement's own words
    llm_finding = {**engine.findings_v1("The API shall answer within 5.", "en")[0], "replacement": "5 ms"}
    assert "fix" not in engine.storable(llm_finding, ours=False)


@pytest.mark.parametrize(
    "text", ["The data is stored.", "The system shall store the data and the administrator shall back it up daily."]
)
def test_one_high_severity_finding_keeps_a_requirement_out_of_the_good_band(text):
    """The mean of eight criteria gave these 87 and 92: green, for a requirement with no modal
    verb, or two requirements in one."""
    res = engine.evaluate_v1(text, None, list(crit.CRITERIA))
    assert any(f["severity"] == "high" for f in res["findings"]), res["findings"]
    assert res["overall"] <= crit.HIGH_CAP < 80


@pytest.mark.parametrize(
    "text, lang, expected",
    [
        ("The system should export reports.", "en", "The system shall export reports."),
        ("Das System sollte die Daten sichern.", "de", "Das System muss die Daten sichern."),
        ("Die Benutzer können Berichte exportieren.", "de", "Die Benutzer müssen Berichte exportieren."),
    ],
)
def test_the_rewrite_puts_the_binding_modal_in_place_of_a_weak_one(text, lang, expected):
    from backend_app.services.requirements.rewrite import rewrite_v1

    assert rewrite_v1(text, lang)["rewrite"] == expected


@pytest.mark.parametrize(
    "text", ["It shall be possible to export reports as PDF.", "Es muss möglich sein, Berichte als PDF zu exportieren."]
)
def test_a_dummy_it_is_no_pronoun_without_a_referent(text):
    res = engine.evaluate_v1(text, None, list(crit.CRITERIA))
    assert "R24" not in [f["rule_id"] for f in res["findings"]]


def test_a_real_pronoun_is_still_asked_about():
    res = engine.evaluate_v1(
        "The server shall log the error and it shall notify the operator.", None, list(crit.CRITERIA)
    )
    assert "R24" in [f["rule_id"] for f in res["findings"]]


@pytest.mark.parametrize(
    "text, rule, words",
    [
        ("The pump shall not exceed a pressure of 10.", "R6", "10"),  # a quantity named by its measure needs a unit
        ("Die Pumpe darf einen Druck von 10 nicht überschreiten.", "R6", "10"),
        ("The tank shall hold more than 200.", "R6", "200"),
        ("The system shall support all browsers.", "R32", "all"),  # a set the requirement does not define
        ("Das System muss alle Browser unterstützen.", "R32", "alle"),
    ],
)
def test_numbers_without_units_and_undefined_sets_are_found(text, rule, words):
    res = engine.evaluate_v1(text, None, list(crit.CRITERIA))
    assert (rule, words) in [(f["rule_id"], f["words"]) for f in res["findings"]], res["findings"]


@pytest.mark.parametrize(
    "text", ["The pump shall not exceed a pressure of 10 bar.", "The system shall log each failed login."]
)
def test_a_unit_or_each_over_a_set_is_enough(text):
    res = engine.evaluate_v1(text, None, list(crit.CRITERIA))
    assert not {"R6", "R32"} & {f["rule_id"] for f in res["findings"]}
