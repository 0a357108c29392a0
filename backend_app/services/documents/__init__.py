"""Documents: upload, extraction into pages (text layer, OCR for scans), the owner's views, data rights."""
