"""Documents made in the test: PDFs with and without a text layer, DOCX, PPTX, ODT, Markdown,
an encrypted PDF, a corrupt one and zip bombs. Each returns the file's bytes."""

from __future__ import annotations

import io
import zipfile

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def pdf_with_text(pages: list[str], *, outline: dict[int, str] | None = None) -> bytes:
    """A PDF (reportlab) with one text page per item; ``outline`` titles bookmark 0-based pages."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    for index, text in enumerate(pages):
        if outline and index in outline:
            key = f"p{index}"
            pdf.bookmarkPage(key)
            pdf.addOutlineEntry(outline[index], key, level=0)
        y = 800
        for line in text.split("\n"):
            pdf.drawString(60, y, line)
            y -= 16
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def pdf_with_chapters(pages: list[tuple[str, list[str]]], *, size: float = 20) -> bytes:
    """A PDF (reportlab, no bookmarks) whose pages open with a bold ``size`` pt heading over 12 pt
    body lines: (heading, body lines) per page; an empty heading leaves the page without one."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    for heading, lines in pages:
        y = 800
        if heading:
            pdf.setFont("Helvetica-Bold", size)
            pdf.drawString(60, y, heading)
            y -= size + 12
        pdf.setFont("Helvetica", 12)
        for line in lines:
            pdf.drawString(60, y, line)
            y -= 16
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def page_picture(lines: list[str], size=(1240, 1754)):
    """A white page (150 dpi A4) with big black text drawn in: what a scanner makes."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 44)
    y = 150
    for line in lines:
        draw.text((100, y), line, fill="black", font=font)
        y += 80
    return image


def scanned_pdf(pages: list[list[str]]) -> bytes:
    """A PDF of page pictures only (no text layer): every page needs OCR."""
    images = [page_picture(lines) for lines in pages]
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:], resolution=150)
    return out.getvalue()


def png_page(lines: list[str]) -> bytes:
    out = io.BytesIO()
    page_picture(lines).save(out, format="PNG")
    return out.getvalue()


def jpeg_page(lines: list[str]) -> bytes:
    out = io.BytesIO()
    page_picture(lines).save(out, format="JPEG", quality=80)
    return out.getvalue()


def encrypted_pdf(text: str = "secret page", password: str = "hunter2") -> bytes:
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(pdf_with_text([text])))
    writer = pypdf.PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def corrupt_pdf() -> bytes:
    """Starts like a PDF (passes the magic-byte check) but has no readable structure."""
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R" + b"\x00garbage" * 200


def docx(sections: list[tuple[str, list[str]]], *, page_breaks: bool = False) -> bytes:
    """A DOCX: for each (heading, paragraphs) a Heading 1 and its paragraphs; ``page_breaks``
    puts an explicit page break after each section but the last."""
    import docx as python_docx

    document = python_docx.Document()
    for index, (heading, paragraphs) in enumerate(sections):
        document.add_heading(heading, level=1)
        for paragraph in paragraphs:
            document.add_paragraph(paragraph)
        if page_breaks and index < len(sections) - 1:
            document.add_page_break()
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pptx(slides: list[tuple[str, str]]) -> bytes:
    """A PPTX with one title-and-content slide per (title, body)."""
    from pptx import Presentation

    presentation = Presentation()
    layout = presentation.slide_layouts[1]
    for title, body in slides:
        slide = presentation.slides.add_slide(layout)
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


ODT_CONTENT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">
<office:body><office:text>{body}</office:text></office:body></office:document-content>"""


def odt(sections: list[tuple[str, list[str]]], *, soft_breaks: bool = False) -> bytes:
    """An ODT text document written by hand (mimetype first, stored; content.xml)."""
    parts = []
    for index, (heading, paragraphs) in enumerate(sections):
        if soft_breaks and index:
            parts.append("<text:soft-page-break/>")
        parts.append(f'<text:h text:outline-level="1">{heading}</text:h>')
        parts += [f"<text:p>{p}</text:p>" for p in paragraphs]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text", compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", ODT_CONTENT.format(body="".join(parts)), compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def docx_bomb(expanded_bytes: int) -> bytes:
    """A real DOCX with one more entry of zeros that expands to ``expanded_bytes``."""
    out = io.BytesIO(docx([("Bomb", ["Looks harmless."])]))
    with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("word/media/padding.bin", "w", force_zip64=True) as entry:
            chunk = b"\x00" * (1 << 20)
            left = expanded_bytes
            while left > 0:
                entry.write(chunk[: min(left, len(chunk))])
                left -= len(chunk)
    return out.getvalue()


def words(count: int, word: str = "lorem") -> str:
    return " ".join(f"{word}{i % 7}" for i in range(count))
