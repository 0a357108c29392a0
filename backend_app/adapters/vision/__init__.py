"""The vision adapter: the only place that imports OpenCV (cv2) or PyAV (av) and works on pixels.

- ``probe``: metadata and limits, with PyAV (codes VIDEO_UNREADABLE, UNSUPPORTED_CODEC, NO_VIDEO_STREAM,
  VIDEO_ENCRYPTED, NO_DECODABLE_FRAMES, INVALID_FPS, VIDEO_TOO_LARGE, VIDEO_TOO_LONG,
  METADATA_EXTRACTION_FAILED).
- ``decode``: the one streaming decode pass (shots, signals, one keyframe picture per shot).
- ``frames``: the pass's decoder (PyAV: non-reference frames skipped, planes read directly).
- ``keyframes``: faces, QR codes, dominant colours, thumbnails and the contact sheet.
- ``audio``: the audio track's codec, channels and rate, and its loudness over time (PyAV).
- ``preview``: whether browsers play a source as it is, and the H.264/AAC MP4 rendition the pass
  writes (PyAV's libx264) for those they cannot.

A video that cannot be analysed raises ``VisionError`` with one of those codes; the layer
above maps it to its own failures.
"""

import cv2

from backend_app.settings import quiet_native_logs

# OpenCV's warnings and the FFmpeg inside it (settings.quiet_native_logs) stay off stderr,
# where they were plain text between the JSON logs.
quiet_native_logs()
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

from backend_app.adapters.vision.audio import AudioTrack, audio_track  # noqa: E402
from backend_app.adapters.vision.decode import PassResult, ShotRecord, decode_pass  # noqa: E402
from backend_app.adapters.vision.errors import VisionError  # noqa: E402
from backend_app.adapters.vision.probe import Limits, VideoMetadata, probe, validate  # noqa: E402

__all__ = [
    "AudioTrack",
    "Limits",
    "PassResult",
    "ShotRecord",
    "VideoMetadata",
    "VisionError",
    "audio_track",
    "decode_pass",
    "probe",
    "validate",
]
