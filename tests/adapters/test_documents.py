"""The document readers on files made here: pages, headings, coded failures, zip bombs, language."""

from __future__ import annotations

import io
import zipfile

import pytest

from backend_app.adapters.documents import language, office, plain, raster, zipguard
from backend_app.adapters.documents.errors import DocumentError
from backend_app.adapters.documents.pdf import PdfSource, headings_by_size, needs_ocr
from backend_app.adapters.documents.sections import SECTION_WORDS
from tests import document_files as files


def _write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_pdf_text_layer_per_page_with_outline_headings(tmp_path):
    pages = [f"Page {n} talks about topic number {n} in plain words." for n in range(1, 6)]
    path = _write(tmp_path, "a.pdf", files.pdf_with_text(pages, outline={0: "Introduction", 3: "Results"}))
    with PdfSource(path) as pdf:
        assert pdf.page_count == 5
        texts = [pdf.text(i) for i in range(5)]
        assert [f"topic number {n}" in text for n, text in enumerate(texts, start=1)] == [True] * 5
        assert not any(needs_ocr(text) for text in texts)
        assert pdf.headings() == {0: ["Introduction"], 3: ["Results"]}
        picture = pdf.render(2, 400)
        assert max(picture.size) == 400


def test_a_scanned_pdf_has_no_text_layer_and_renders(tmp_path):
    path = _write(tmp_path, "scan.pdf", files.scanned_pdf([["Hello scanner"], ["Second page"]]))
    with PdfSource(path) as pdf:
        assert pdf.page_count == 2
        assert all(needs_ocr(pdf.text(i)) for i in range(2))
        picture = pdf.render(0, raster.OCR_LONG_SIDE)
        assert max(picture.size) == raster.OCR_LONG_SIDE
        assert picture.getextrema()[0][0] < 50  # the drawn text is there (dark pixels)


def test_an_encrypted_pdf_is_a_coded_failure(tmp_path):
    path = _write(tmp_path, "locked.pdf", files.encrypted_pdf())
    with pytest.raises(DocumentError) as caught:
        PdfSource(path)
    assert caught.value.code == "DOCUMENT_ENCRYPTED"


def test_a_pdf_with_only_an_owner_password_is_read(tmp_path):
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(files.pdf_with_text(["Readable by anyone, printing restricted."])))
    writer = pypdf.PdfWriter()
    writer.add_page(reader.pages[0])
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    with PdfSource(_write(tmp_path, "owner.pdf", out.getvalue())) as pdf:
        assert "printing restricted" in pdf.text(0)
        assert pdf.render(0, 200).size[1] == 200


def test_a_corrupt_pdf_is_a_coded_failure(tmp_path):
    with pytest.raises(DocumentError) as caught:
        PdfSource(_write(tmp_path, "bad.pdf", files.corrupt_pdf()))
    assert caught.value.code == "DOCUMENT_CORRUPT"


def test_docx_sections_start_at_headings_and_keep_them(tmp_path):
    data = files.docx(
        [
            ("Chapter 1: Cells", ["Cells are the basic unit of life.", "Every cell has a membrane."]),
            ("Chapter 2: Energy", ["Mitochondria produce energy for the cell."]),
        ]
    )
    pages = office.read_docx(_write(tmp_path, "a.docx", data))
    assert [page.headings for page in pages] == [["Chapter 1: Cells"], ["Chapter 2: Energy"]]
    assert "membrane" in pages[0].text and "Mitochondria" in pages[1].text


def test_docx_long_text_is_cut_near_500_words_and_at_explicit_breaks(tmp_path):
    long = files.docx([("Only heading", [files.words(100) for _ in range(12)])])
    pages = office.read_docx(_write(tmp_path, "long.docx", long))
    # 2 + 1200 words in paragraphs of 100: a page ends at the first paragraph end past 500 words
    assert [len(page.text.split()) for page in pages] == [502, 500, 200]
    assert [page.headings for page in pages] == [["Only heading"], [], []]
    assert all(len(page.text.split()) <= SECTION_WORDS + 100 for page in pages)
    broken = files.docx([("A", ["first"]), ("B", ["second"]), ("C", ["third"])], page_breaks=True)
    assert [p.text.split("\n")[-1] for p in office.read_docx(_write(tmp_path, "b.docx", broken))] == [
        "first",
        "second",
        "third",
    ]


def test_pptx_one_slide_one_page_with_its_title(tmp_path):
    data = files.pptx([("Photosynthesis", "Light becomes sugar."), ("Respiration", "Sugar becomes energy.")])
    pages = office.read_pptx(_write(tmp_path, "a.pptx", data))
    assert [page.headings for page in pages] == [["Photosynthesis"], ["Respiration"]]
    assert "Light becomes sugar." in pages[0].text


def test_odt_headings_and_soft_page_breaks(tmp_path):
    data = files.odt([("Erstes Kapitel", ["Über Äpfel und Birnen."]), ("Second", ["More text."])], soft_breaks=True)
    pages = office.read_odt(_write(tmp_path, "a.odt", data))
    assert [page.headings for page in pages] == [["Erstes Kapitel"], ["Second"]]
    assert "Über Äpfel" in pages[0].text


def test_an_odt_with_an_entity_bomb_is_refused_not_expanded(tmp_path):
    evil = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0">&b;'
        "</office:document-content>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("content.xml", evil)
    with pytest.raises(DocumentError) as caught:
        office.read_odt(_write(tmp_path, "evil.odt", out.getvalue()))
    assert caught.value.code == "DOCUMENT_CORRUPT"


def test_markdown_pages_split_at_headings(tmp_path):
    text = "# Intro\n\nHello there.\n\n## Details\n\nMore words here.\n\nSetext\n======\n\nLast part.\n"
    pages = plain.read(_write(tmp_path, "a.md", text.encode()), markdown=True)
    assert [page.headings for page in pages] == [["Intro"], ["Details"], ["Setext"]]
    assert pages[2].text.endswith("Last part.")
    latin = plain.read(_write(tmp_path, "b.txt", "Caf\xe9 cr\xe8me".encode("latin-1")), markdown=False)
    assert latin[0].text == "Café crème"


def test_zip_bombs_are_refused_from_the_directory_alone(tmp_path):
    ratio = _write(tmp_path, "ratio.docx", files.docx_bomb(4 << 20))  # 4 MiB of zeros: ~1000x
    with pytest.raises(DocumentError) as caught:
        zipguard.check(ratio, "docx", max_unzipped=1 << 30)
    assert caught.value.code == "DOCUMENT_ZIP_BOMB" and caught.value.details["ratio"] > zipguard.MAX_RATIO
    with pytest.raises(DocumentError) as caught:
        zipguard.check(ratio, "docx", max_unzipped=1 << 20)
    assert caught.value.code == "DOCUMENT_ZIP_BOMB" and caught.value.details["unzipped"] > 4 << 20

    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as archive:
        archive.writestr("word/document.xml", "<x/>")
        for n in range(zipguard.MAX_ENTRIES + 1):
            archive.writestr(f"e/{n}", b"")
    with pytest.raises(DocumentError) as caught:
        zipguard.check(_write(tmp_path, "many.docx", many.getvalue()), "docx", max_unzipped=1 << 30)
    assert caught.value.code == "DOCUMENT_ZIP_BOMB" and caught.value.details["entries"] > zipguard.MAX_ENTRIES


def test_zipguard_passes_real_files_and_names_the_wrong_ones(tmp_path):
    zipguard.check(_write(tmp_path, "ok.docx", files.docx([("H", ["p"])])), "docx", max_unzipped=1 << 26)
    zipguard.check(_write(tmp_path, "ok.pptx", files.pptx([("T", "b")])), "pptx", max_unzipped=1 << 26)
    with pytest.raises(DocumentError) as caught:
        zipguard.check(_write(tmp_path, "x.pptx", files.docx([("H", ["p"])])), "pptx", max_unzipped=1 << 26)
    assert caught.value.code == "DOCUMENT_CORRUPT"
    with pytest.raises(DocumentError) as caught:
        zipguard.check(_write(tmp_path, "y.docx", b"PK\x03\x04 not really"), "docx", max_unzipped=1 << 26)
    assert caught.value.code == "DOCUMENT_CORRUPT"


def test_language_per_text_is_repeatable_and_short_texts_are_unknown():
    english = "The mitochondria is the powerhouse of the cell and produces most of its energy."
    german = "Die Mitochondrien sind die Kraftwerke der Zelle und erzeugen den größten Teil ihrer Energie."
    assert [language.detect(english) for _ in range(3)] == ["en"] * 3
    assert language.detect(german) == "de"
    assert language.detect("Too short") == language.UNKNOWN
    assert language.detect("") == language.UNKNOWN


def test_page_images_open_upright_and_bombs_are_refused(tmp_path):
    picture = raster.open_image(_write(tmp_path, "p.png", files.png_page(["Hello"])))
    assert picture.mode == "RGB" and picture.size == (1240, 1754)
    thumb = raster.thumbnail_jpeg(picture)
    assert thumb.startswith(b"\xff\xd8") and len(thumb) < 60_000
    from PIL import Image

    huge = tmp_path / "huge.png"
    Image.new("1", (10_000, 10_000)).save(huge)
    with pytest.raises(DocumentError) as caught:
        raster.open_image(huge)
    assert caught.value.code == "DOCUMENT_CORRUPT" and caught.value.details["width"] == 10_000


def test_pdf_headings_are_found_by_type_size_without_bookmarks(tmp_path):
    body = ["Plants turn light into sugar in their leaves every day.", "Chlorophyll absorbs red and blue light."]
    pages = [
        ("Chapter 1: Photosynthesis", body),
        ("Chapter 2: Respiration", ["Mitochondria burn sugar to release energy.", *body]),
        ("", body + ["A short line", "Ends with a full stop."]),  # body-size lines are never headings
    ]
    path = _write(tmp_path, "notes.pdf", files.pdf_with_chapters(pages))
    with PdfSource(path) as pdf:
        assert pdf.headings() == {}  # no bookmarks
        read = [pdf.read(i) for i in range(3)]
    assert [found for _, found in read] == [[(1, "Chapter 1: Photosynthesis")], [(1, "Chapter 2: Respiration")], []]
    assert read[1][0].startswith("Chapter 2: Respiration") and "Mitochondria burn sugar" in read[1][0]


def test_heading_levels_follow_the_size_and_long_or_closed_lines_are_text():
    lines = [
        ("Part One", 24.0),
        ("Cells", 16.0),
        ("A large pull quote that runs on for far more than twelve words in all of it", 16.0),
        ("A large sentence that ends.", 16.0),
        ("Body text of the page, the most characters of any size on it.", 12.0),
        ("More body text of the page, and more of it, so that the body is the size most text has.", 12.0),
        ("Barely larger", 12.5),
    ]
    assert headings_by_size(lines) == [(1, "Part One"), (2, "Cells")]
    assert headings_by_size([("All one size", 12.0), ("Still one size", 12.0)]) == []
