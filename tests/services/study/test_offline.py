"""The offline study generator (pure): every item cites a page holding its answer."""

from __future__ import annotations

import time

from backend_app.services.study import offline
from backend_app.services.study.text import contains, sentences
from tests.study_text import pages as textbook

ML = [
    (
        1,
        "Introduction\nMachine learning is a field of study that gives computers the ability to learn "
        "without being explicitly programmed. It is used in many applications. A neural network is a model "
        "made of layers of connected units called neurons.",
        ["Introduction"],
    ),
    (
        2,
        "Training\nGradient descent refers to an iterative method that minimises a loss function by\nfollowing "
        "its negative gradient. Overfitting means that a model learns the noise of the training data. "
        "This is a problem for every model.",
        ["Training"],
    ),
    (3, "Glossary\nEpoch: one full pass of the training data through the model\nBatch: a subset of the data", []),
    (
        4,
        "Die Photosynthese ist ein Prozess, bei dem Pflanzen Lichtenergie in chemische Energie umwandeln. "
        "Chlorophyll bezeichnet den grünen Farbstoff in den Chloroplasten. "
        "Unter Osmose versteht man den Fluss eines Lösungsmittels durch eine Membran.",
        [],
    ),
]


def assert_grounded(material: dict, pages: list, *, extractive: bool = True) -> None:
    """Every key term, flashcard and quiz item cites an existing page whose text holds its answer
    (``extractive``: definitions, summary sentences too, and cards are cloze)."""
    text = {n: t for n, t, _h in pages}
    for item in material["key_terms"]:
        assert contains(text[item["page"]], item["term"]), item
        assert not extractive or contains(text[item["page"]], item["definition"]), item
    for item in material["flashcards"]:
        assert contains(text[item["page"]], item["answer"]), item
        assert not extractive or offline.BLANK in item["question"] and not contains(item["question"], item["answer"])
    for item in material["quiz"]:
        assert item["answer"] in item["options"], item
        assert contains(text[item["page"]], item["answer"]), item
    for sentence in material["summary"].split(". ") if extractive else []:
        assert any(contains(t, sentence.rstrip(".")) for t in text.values()), sentence


def test_defining_sentences_in_english_and_german_become_terms_and_cards():
    material = offline.generate(ML)
    terms = {k["term"]: (k["definition"], k["page"]) for k in material["key_terms"]}
    assert terms["Machine learning"] == (
        "a field of study that gives computers the ability to learn without being explicitly programmed",
        1,
    )
    assert terms["neural network"][1] == 1
    assert terms["Gradient descent"] == (
        "an iterative method that minimises a loss function by following its negative gradient",
        2,
    )
    assert terms["Epoch"] == ("one full pass of the training data through the model", 3)
    assert terms["Photosynthese"][1] == terms["Chlorophyll"][1] == terms["Osmose"][1] == 4
    assert "This" not in terms and "It" not in terms  # pronoun subjects define nothing
    cards = {c["answer"]: c for c in material["flashcards"]}
    assert cards["Gradient descent"]["question"].startswith("_____ refers to an iterative method")
    assert cards["Chlorophyll"]["question"] == "_____ bezeichnet den grünen Farbstoff in den Chloroplasten."
    german = next(q for q in material["quiz"] if q["answer"] == "Photosynthese")
    assert german["question"].startswith("Welcher Begriff")
    assert_grounded(material, ML)


def test_quiz_has_distinct_options_from_other_terms_in_a_deterministic_order():
    material = offline.generate(ML)
    terms = {k["term"] for k in material["key_terms"]}
    assert len(material["quiz"]) == len(material["key_terms"]) >= 5
    for q in material["quiz"]:
        assert len(q["options"]) == len(set(q["options"])) == 4
        assert set(q["options"]) <= terms
        assert q["options"] == sorted(q["options"], key=str.casefold)
    assert offline.generate(ML) == material  # same pages, same material


def test_a_fifty_page_document_is_grounded_complete_and_quick():
    pages, defined = textbook(50, german_every=5)
    started = time.perf_counter()
    material = offline.generate(pages)
    took = time.perf_counter() - started
    assert_grounded(material, pages)
    assert len(material["key_terms"]) == offline.MAX_TERMS
    for item in material["key_terms"]:
        assert defined[item["term"]] == item["page"]  # the page that defines it, not one that mentions it
    assert len(material["flashcards"]) == offline.MAX_CARDS
    assert {c["answer"] for c in material["flashcards"]} <= set(defined)
    assert len(material["quiz"]) == offline.MAX_QUIZ
    summary = sentences([(0, material["summary"], [])])
    assert 3 <= len(summary) <= 8
    positions = [next(i for i, s in enumerate(sentences(pages)) if s.text == x.text) for x in summary]
    assert positions == sorted(positions)  # document order
    print(f"offline study material for 50 pages: {took:.2f} s")  # the bench records it; no timing assertion


def test_text_without_definitions_still_gets_terms_from_statistics():
    pages = [
        (1, "Thermodynamics studies heat. Heat engines convert heat into work. Heat engines lose heat.", []),
        (2, "Entropy grows in closed systems. Closed systems exchange no matter. Entropy matters.", []),
    ]
    material = offline.generate(pages)
    assert len(material["key_terms"]) == 5
    found = [k["term"].casefold() for k in material["key_terms"]]
    assert "entropy" in found and "closed systems" in found and any(t.startswith("heat") for t in found)
    assert len({t.split()[0] for t in found}) == len(found)  # no term twice, inside a longer one either
    assert_grounded(material, pages)


def test_empty_and_tiny_documents_give_empty_material():
    assert offline.generate([]) == {"summary": "", "key_terms": [], "flashcards": [], "quiz": []}
    material = offline.generate([(1, "Hello.", [])])
    assert material["key_terms"] == [] and material["quiz"] == [] and material["flashcards"] == []


def test_title_lines_the_extraction_did_not_mark_do_not_join_the_next_sentence():
    pages = [
        (1, "Energy\nThe mitochondrion is an organelle that releases energy from nutrients.", []),
        (2, "Genetics and more\nTranscription refers to the copying of DNA into messenger RNA.", []),
        (3, "A ribosome is a molecular\nmachine that builds proteins from amino acids.", []),
    ]
    terms = {k["term"]: k["page"] for k in offline.generate(pages)["key_terms"]}
    assert {"mitochondrion": 1, "Transcription": 2, "ribosome": 3}.items() <= terms.items(), terms
