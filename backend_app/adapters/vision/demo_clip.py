"""A generated sample video for `flask demo seed` (cv2.VideoWriter, MPEG-4 part 2; no ffmpeg)."""

from __future__ import annotations

import cv2
import numpy as np

DEMO_QR = "https://framewise.local/demo"
# (background BGR, caption) per shot: distinct scenes so the shot detector finds hard cuts.
SCENES = [((150, 90, 30), "STREET"), ((40, 40, 40), "NIGHT"), ((235, 235, 235), "QR CODE"), ((30, 140, 60), "PARK")]


def write_demo_clip(
    path: str, *, fps: int = 12, seconds_per_shot: float = 2.0, size: tuple[int, int] = (320, 180)
) -> dict:
    """Four shots (a moving car on a street, a dark shot, a QR code, a park); returns what is in it."""
    width, height = size
    per_shot = int(fps * seconds_per_shot)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        raise RuntimeError("OpenCV's VideoWriter cannot write MPEG-4 here")
    side = height - 30
    code = cv2.QRCodeEncoder.create().encode(DEMO_QR)
    qr = cv2.cvtColor(cv2.resize(code, (side, side), interpolation=cv2.INTER_NEAREST), cv2.COLOR_GRAY2BGR)
    try:
        for shot, (colour, caption) in enumerate(SCENES):
            for i in range(per_shot):
                frame = np.full((height, width, 3), colour, np.uint8)
                if caption == "QR CODE":
                    x0 = (width - side) // 2
                    frame[15 : 15 + side, x0 : x0 + side] = qr
                else:
                    x = (8 * i + 40 * shot) % (width - 60)
                    cv2.rectangle(frame, (x, height - 70), (x + 60, height - 40), (30, 30, 200), -1)  # a red car
                    cv2.putText(frame, caption, (10, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
                writer.write(frame)
    finally:
        writer.release()
    return {"shots": len(SCENES), "frames": per_shot * len(SCENES), "qr_text": DEMO_QR}
