"""A tiny generated video for /health/analysis-pipeline (cv2.VideoWriter, MPEG-4 part 2; no ffmpeg)."""

from __future__ import annotations

import cv2
import numpy as np

CHECK_QR = "framewise:pipeline-check"


def write_check_clip(path: str, *, fps: int = 10, seconds: float = 2.0, size: tuple[int, int] = (160, 96)) -> dict:
    """Two shots: a moving bar on blue, then a QR code on white. Returns what the pipeline should find."""
    width, height = size
    total = int(fps * seconds)
    cut = total // 2
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        raise RuntimeError("OpenCV's VideoWriter cannot write MPEG-4 here")
    code = cv2.QRCodeEncoder.create().encode(CHECK_QR)
    side = height - 8
    qr = cv2.cvtColor(cv2.resize(code, (side, side), interpolation=cv2.INTER_NEAREST), cv2.COLOR_GRAY2BGR)
    try:
        for i in range(total):
            frame = np.full((height, width, 3), (160, 60, 20) if i < cut else (255, 255, 255), np.uint8)
            if i < cut:
                x = 10 + 6 * i
                cv2.rectangle(frame, (x, 20), (x + 24, height - 20), (40, 200, 240), -1)
            else:
                x0 = (width - side) // 2
                frame[4 : 4 + side, x0 : x0 + side] = qr
            writer.write(frame)
    finally:
        writer.release()
    return {"frames": total, "cut_frames": [cut], "qr_text": CHECK_QR}
