"""Reading documents: PDF (pypdf, pypdfium2 to render), DOCX, PPTX, ODT, Markdown and text, page
images; zip checks before any office file is opened; page thumbnails, OCR of page pictures and
language detection. Nothing here knows tables, jobs or HTTP: failures are ``DocumentError``s."""
