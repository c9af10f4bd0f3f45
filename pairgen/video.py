"""Frames of videos (read with OpenCV) or of folders of images, as dataset items with
``source`` and ``time``: the input of temporal positives (:class:`pairgen.positives.TemporalPairs`).

Example:
    >>> frames = VideoFrames(["/usr/share/doc/opencv-doc/examples/data/vtest.avi"], every=10, max_frames=5)  # doctest: +SKIP
    >>> frames[1]["time"]  # doctest: +SKIP
    1.0
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from torch.utils.data import Dataset

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def read_frames(
    path: str | Path,
    every: int = 1,
    max_frames: int = 300,
    max_side: int | None = None,
) -> tuple[list[np.ndarray], list[float]]:
    """Decode every ``every``-th frame of a video, at most ``max_frames`` of them.

    Args:
        path: a video file OpenCV can read.
        every: keep one frame in ``every``.
        max_frames: stop after this many kept frames (bounds memory and time).
        max_side: shrink frames whose longer side exceeds it (area filter).

    Returns:
        HWC uint8 RGB frames and their times in seconds (frame number / frame rate;
        25 fps when the file does not say).

    Raises:
        FileNotFoundError: ``path`` does not exist. ValueError: OpenCV cannot read it,
        it has no frame, or an argument is out of range.
    """
    path = Path(path)
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    if max_frames < 1:
        raise ValueError(f"max_frames must be >= 1, got {max_frames}")
    if not path.is_file():
        raise FileNotFoundError(f"video file not found: {path}")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise ValueError(f"OpenCV cannot open the video {path}")
        fps = capture.get(cv2.CAP_PROP_FPS)
        fps = fps if np.isfinite(fps) and fps > 0 else 25.0
        frames, times = [], []
        number = 0
        while len(frames) < max_frames and capture.grab():  # one grab per frame of the file: bounded by its length
            if number % every == 0:
                ok, frame = capture.retrieve()
                if not ok:
                    raise ValueError(f"OpenCV cannot decode frame {number} of the video {path}")
                frames.append(_shrink(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), max_side))
                times.append(number / fps)
            number += 1
    finally:
        capture.release()
    if not frames:
        raise ValueError(f"the video {path} has no frame OpenCV can read")
    return frames, times


def read_frame_folder(folder: str | Path, fps: float = 1.0, every: int = 1, max_frames: int = 300,
                      max_side: int | None = None) -> tuple[list[np.ndarray], list[float]]:
    """The images of ``folder`` in name order as frames, at ``fps`` frames per second."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"frame folder not found: {folder}")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[::every][:max_frames]
    if not paths:
        raise ValueError(f"the frame folder {folder} has no image ({', '.join(IMAGE_SUFFIXES)})")
    frames = []
    for p in paths:
        try:
            with Image.open(p) as image:
                frames.append(_shrink(np.asarray(image.convert("RGB")), max_side))
        except OSError as error:
            raise ValueError(f"cannot read the frame {p}: {error}") from error
    return frames, [every * i / fps for i in range(len(paths))]


def _shrink(frame: np.ndarray, max_side: int | None) -> np.ndarray:
    if max_side is None or max(frame.shape[:2]) <= max_side:
        return np.ascontiguousarray(frame)
    factor = max_side / max(frame.shape[:2])
    size = (max(1, round(frame.shape[1] * factor)), max(1, round(frame.shape[0] * factor)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


class VideoFrames(Dataset):
    """Frames of several sequences (video files or folders of frame images), decoded once.

    Items are ``{"image", "source", "time", "index"}``: ``source`` is the sequence's
    path, ``time`` the frame's time in seconds. ``sources`` and ``times`` list them
    for all items without decoding anything again.

    Args:
        paths: video files and/or folders of frames (one sequence each).
        every: keep one frame in ``every``.
        max_frames: at most this many frames per sequence.
        fps: frame rate of the folders (videos give their own).
        max_side: shrink larger frames.
    """

    def __init__(self, paths: Sequence[str | Path], every: int = 1, max_frames: int = 300, fps: float = 1.0,
                 max_side: int | None = 512):
        if isinstance(paths, (str, Path)):
            paths = [paths]
        if not paths:
            raise ValueError("paths must name at least one video file or frame folder")
        self.frames: list[np.ndarray] = []
        self.sources: list[str] = []
        self.times: list[float] = []
        for path in paths:
            if Path(path).is_dir():
                frames, times = read_frame_folder(path, fps, every, max_frames, max_side)
            else:
                frames, times = read_frames(path, every, max_frames, max_side)
            self.frames += frames
            self.times += times
            self.sources += [str(path)] * len(frames)

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int) -> dict:
        return {"image": self.frames[index], "source": self.sources[index], "time": self.times[index], "index": index}
