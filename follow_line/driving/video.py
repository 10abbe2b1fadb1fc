"""MP4 recording of a run's camera frames, with the command and progress overlaid.

The video is written under a hidden temporary name beside its path and renamed into place by
`close`: an interrupted run leaves no half-written file under the final name.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from follow_line.errors import FollowLineError


class VideoRecorder:
    """Writes RGB frames to an MP4 file (mp4v codec) at the camera rate."""

    def __init__(self, path: Path, fps: float):
        self.path = Path(path)
        if self.path.suffix.lower() != ".mp4":
            raise FollowLineError(f"video file must end in .mp4, got {self.path.name}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fps = fps
        self._partial = self.path.with_name(f".{self.path.stem}.partial.mp4")
        self._writer: cv2.VideoWriter | None = None

    def write(self, frame: np.ndarray, t: float, command: tuple[float, float],
              completion_pct: float) -> None:
        """Append one frame with a caption line."""
        if self._writer is None:
            h, w = frame.shape[:2]
            self._writer = cv2.VideoWriter(str(self._partial), cv2.VideoWriter.fourcc(*"mp4v"),
                                           self._fps, (w, h))
            if not self._writer.isOpened():
                raise FollowLineError(f"cannot open {self.path} for writing")
        bgr = np.ascontiguousarray(frame[..., ::-1])
        text = f"t {t:6.2f} s  v {command[0]:5.2f} m/s  w {command[1]:+5.2f} rad/s  " \
               f"{completion_pct:5.1f} %"
        cv2.putText(bgr, text, (10, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3)
        cv2.putText(bgr, text, (10, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
        self._writer.write(bgr)

    def close(self) -> None:
        """Finish the file and move it into place."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
            os.replace(self._partial, self.path)
