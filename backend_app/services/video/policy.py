"""What an upload must be before anything is queued: declared limits, then the real bytes.

At init the declared size and content type are checked; at complete the stored object's real
size and its magic bytes. OpenCV-level checks (can it be opened, codec, duration, resolution,
fps, frame count) belong to the analysis job's first stage and end as a failed job with a code.
"""

from __future__ import annotations

import mimetypes

from flask import current_app

from backend_app.errors import AppError
from backend_app.services import upload_rules

HEAD_BYTES = 1024  # enough for every signature below, including three MPEG-TS packets
GUESSABLE = {"", "application/octet-stream", "binary/octet-stream"}
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}

# Refusals with their HTTP status; a failed job keeps the code so a repeated complete says the same.
STATUS_BY_CODE = {
    "EMPTY_FILE": 422,
    "VIDEO_TOO_LARGE": 413,
    "UNSUPPORTED_FORMAT": 415,
    "UPLOAD_INCOMPLETE": 409,
    "UPLOAD_SIZE_MISMATCH": 422,
}
mimetypes.add_type("video/mp2t", ".ts")
mimetypes.add_type("video/mp2t", ".m2ts")
mimetypes.add_type("video/mp2t", ".mts")  # camcorders (AVCHD); Python guesses model/vnd.mts
mimetypes.add_type("video/x-matroska", ".mkv")
mimetypes.add_type("video/webm", ".webm")
mimetypes.add_type("video/3gpp", ".3gp")  # Python guesses audio/3gpp
mimetypes.add_type("video/x-ms-asf", ".asf")
mimetypes.add_type("video/x-ms-wmv", ".wmv")
mimetypes.add_type("video/ogg", ".ogv")
mimetypes.add_type("video/mpeg", ".vob")
mimetypes.add_type("video/x-flv", ".flv")
# Other names clients send for the same formats (Windows browsers, the registered Matroska type).
ALIASES = {
    "video/vnd.dlna.mpeg-tts": "video/mp2t",
    "model/vnd.mts": "video/mp2t",
    "video/matroska": "video/x-matroska",
    "audio/3gpp": "video/3gpp",
    "video/x-ms-wmv": "video/x-ms-asf",
    "application/vnd.ms-asf": "video/x-ms-asf",
    "application/ogg": "video/ogg",
    "video/flv": "video/x-flv",
}
ASF_HEADER = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")  # the ASF Header Object's GUID (WMV, ASF)


def accepted(types: list[str]) -> list[str]:
    """The types and their file extensions, for a file chooser's ``accept``: a chooser filters by
    extension where the system does not know a type (.flv, .vob, .mts)."""
    extensions = {ext for t in types for ext in mimetypes.guess_all_extensions(t)}
    extensions |= {ext for ext, t in mimetypes.types_map.items() if ALIASES.get(t, t) in types}
    return [*types, *sorted(extensions)]


def refusal(code: str, message: str, **details) -> AppError:
    """A coded refusal with the status this policy gives that code."""
    return AppError(message, code=code, status=STATUS_BY_CODE[code], details=details)


def clean_filename(name: str) -> str:
    """The name shown to the user: last path component, no control or bidi characters, at most 255."""
    return upload_rules.clean_filename(name, "video")


def normalize_content_type(content_type: str | None, filename: str) -> str:
    """Lower-cased type without parameters, other names of a format by its usual one; a generic
    type is guessed from the file name."""
    value = (content_type or "").split(";")[0].strip().lower()
    if value in GUESSABLE:
        value = (mimetypes.guess_type(filename)[0] or value or "application/octet-stream").lower()
    return ALIASES.get(value, value)


def check_declared(filename: str, content_type: str | None, file_size: int) -> str:
    """Check what the client declares; returns the content type to store."""
    settings = current_app.config["SETTINGS"]
    upload_rules.check_declared_size(
        file_size, settings.max_upload_bytes, refusal, too_large="VIDEO_TOO_LARGE", noun="file"
    )
    value = normalize_content_type(content_type, filename)
    if value not in settings.upload_allowed_types:
        raise refusal(
            "UNSUPPORTED_FORMAT",
            f"{value!r} is not a supported video type.",
            reason="content_type",
            content_type=value,
            allowed=list(settings.upload_allowed_types),
        )
    return value


def sniff(head: bytes) -> str | None:
    """The container named by the file's first bytes, or None when it is not a video we read."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "quicktime" if head[8:10] == b"qt" else "mp4"
    if len(head) >= 8 and head[4:8] in _QUICKTIME_ATOMS and int.from_bytes(head[:4], "big") >= 8:
        return "quicktime"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in head[:64] else "matroska"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if _packets(head, 0, 188) or _packets(head, 4, 192):
        return "mpegts"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "mpegps"
    if head.startswith(ASF_HEADER):
        return "asf"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"FLV\x01"):
        return "flv"
    return None


def _packets(head: bytes, offset: int, size: int) -> bool:
    """MPEG-TS: a 0x47 sync byte at the start of each of the first packets (at least two)."""
    starts = range(offset, min(len(head), offset + 3 * size), size)
    return len(starts) >= 2 and all(head[i] == 0x47 for i in starts)


def check_stored(declared: int, size: int | None, head: bytes) -> str:
    """Check the stored object against the declaration; returns its container name."""
    upload_rules.check_stored_size(declared, size, refusal)
    container = sniff(head)
    if container is None:
        raise refusal(
            "UNSUPPORTED_FORMAT",
            "The file is not a video in a supported format (MP4/MOV, WebM/MKV, AVI, MPEG-TS/PS, ASF/WMV, Ogg, FLV).",
            reason="magic_bytes",
        )
    return container
