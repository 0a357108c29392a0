"""The vision adapter: the only place that imports OpenCV (cv2) or PyAV (av) and works on pixels.

- ``probe``: metadata and limits (codes VIDEO_UNREADABLE, UNSUPPORTED_CODEC, INVALID_FPS,
  VIDEO_TOO_LARGE, VIDEO_TOO_LONG, METADATA_EXTRACTION_FAILED).
- ``decode``: the one streaming decode pass (shots, signals, one keyframe JPEG per shot).
- ``frames``: the pass's decoder (PyAV: non-reference frames skipped, planes read directly).
- ``keyframes``: faces, QR codes, dominant colours, thumbnails and the contact sheet.
"""

from .decode import PassResult, ShotRecord, decode_pass
from .probe import Limits, VideoMetadata, probe, validate

__all__ = ["Limits", "PassResult", "ShotRecord", "VideoMetadata", "decode_pass", "probe", "validate"]
