"""Face analysis with mediapipe's bundled legacy models: landmarks, face boxes, person matte.

`FaceAnalyzer` owns the three mediapipe graphs (face mesh, face detection, selfie
segmentation). Each graph is built on first use and closed by `close()` / the context
manager. mediapipe graphs are not thread-safe, so every call is serialised by a lock; use one
analyzer per thread if you need parallelism.

Everything takes and returns RGB uint8 arrays (H, W, 3) and pixel coordinates.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import cv2
import numpy as np

from anchor.face.landmarks import CHIN_BOTTOM as CHIN
from anchor.face.landmarks import FOREHEAD_TOP, N_LANDMARKS
from anchor.face.landmarks import LIP_GAP_PAIRS as INNER_LIP_PAIRS

__all__ = ["N_LANDMARKS", "FOREHEAD_TOP", "CHIN", "INNER_LIP_PAIRS", "FaceAnalyzer", "FaceBox"]


@dataclass(frozen=True)
class FaceBox:
    """A face's bounding box in pixels (x0, y0 inclusive; x1, y1 exclusive) and where it came from."""

    x0: int
    y0: int
    x1: int
    y1: int
    score: float = 1.0
    source: str = "mesh"  # "mesh" (face-mesh landmarks) or "detector" (face detection only)

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def center(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2.0, (self.y0 + self.y1) / 2.0

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x0, self.y0, self.x1, self.y1)


def landmarks_box(landmarks: np.ndarray) -> FaceBox:
    """The bounding box of a (478, 3) landmark array."""
    xy = np.asarray(landmarks, dtype=np.float32)[:, :2]
    x0, y0 = np.floor(xy.min(axis=0)).astype(int)
    x1, y1 = np.ceil(xy.max(axis=0)).astype(int) + 1
    return FaceBox(int(x0), int(y0), int(x1), int(y1), 1.0, "mesh")


def face_height(landmarks: np.ndarray) -> float:
    """Forehead top (landmark 10) to chin (152) distance in pixels."""
    lm = np.asarray(landmarks, dtype=np.float64)
    return float(np.linalg.norm(lm[CHIN, :2] - lm[FOREHEAD_TOP, :2]))


def inner_lip_gap(landmarks: np.ndarray) -> float:
    """Mouth opening: mean inner-lip gap divided by face height (dimensionless, ~0 when closed).

    The gap of each (upper, lower) pair in INNER_LIP_PAIRS is measured along the face's own
    vertical axis (forehead -> chin), so head roll does not inflate it; lips pressed past each
    other count as 0. A wide-open mouth gives roughly 0.1-0.2.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.ndim != 2 or lm.shape[0] < 468 or lm.shape[1] < 2:
        raise ValueError(f"expected (478, 3) face-mesh landmarks, got shape {lm.shape}")
    axis = lm[CHIN, :2] - lm[FOREHEAD_TOP, :2]
    height = float(np.linalg.norm(axis))
    if height <= 0:
        return 0.0
    axis /= height
    gaps = [max(0.0, float(np.dot(lm[lo, :2] - lm[up, :2], axis))) for up, lo in INNER_LIP_PAIRS]
    return float(np.mean(gaps)) / height


def _iou(a: FaceBox, b: FaceBox) -> float:
    ix = max(0, min(a.x1, b.x1) - max(a.x0, b.x0))
    iy = max(0, min(a.y1, b.y1) - max(a.y0, b.y0))
    inter = ix * iy
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0


def _contains(box: FaceBox, point: tuple[float, float]) -> bool:
    return box.x0 <= point[0] < box.x1 and box.y0 <= point[1] < box.y1


def _same_face(a: FaceBox, b: FaceBox) -> bool:
    # The detector's box (brows to chin) is smaller than the mesh box (forehead to chin), so
    # IoU alone under-matches; a centre inside the other box is the same face.
    return _iou(a, b) >= 0.3 or _contains(a, b.center) or _contains(b, a.center)


def _fill_holes(binary: np.ndarray) -> np.ndarray:
    """Set every 0-region not connected to the image border to 1 (binary uint8 in, out)."""
    # Flood the background from outside a 1-px frame: whatever the flood cannot reach is a hole.
    # (cv2.floodFill is ~10x faster than scipy's binary_fill_holes on 720p.)
    padded = np.pad(binary, 1)
    flood_mask = np.zeros((padded.shape[0] + 2, padded.shape[1] + 2), np.uint8)
    cv2.floodFill(padded, flood_mask, (0, 0), (2,))
    filled = binary.copy()
    filled[padded[1:-1, 1:-1] == 0] = 1
    return filled


def _as_rgb(rgb: np.ndarray) -> np.ndarray:
    arr = np.asarray(rgb)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {arr.dtype} {arr.shape}")
    return np.ascontiguousarray(arr)


class FaceAnalyzer:
    """Face mesh + face detection + person segmentation, built lazily, closed together.

    static_image_mode=True (default) treats each image independently: use it for photos.
    static_image_mode=False (or `FaceAnalyzer.for_video()`) tracks the face from frame to
    frame, which is several times faster when analysing the consecutive frames of a video;
    frames must then be given in order, from one clip per analyzer.
    """

    def __init__(
        self,
        *,
        static_image_mode: bool = True,
        max_num_faces: int = 3,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        segmentation_model: int = 0,
    ) -> None:
        self.static_image_mode = static_image_mode
        self.max_num_faces = max_num_faces
        self.min_detection_confidence = min_detection_confidence
        self.min_tracking_confidence = min_tracking_confidence
        # 0 = "general" (256x256 input, square): on head-and-shoulders portraits it follows hair
        # and shoulders more closely than 1 = "landscape" (144x256), which is cheaper but coarser.
        self.segmentation_model = segmentation_model
        self._lock = threading.Lock()
        self._mesh: Any = None
        self._detector: Any = None
        self._segmenter: Any = None
        self._closed = False

    @classmethod
    def for_video(cls, *, max_num_faces: int = 1, **kwargs: Any) -> FaceAnalyzer:
        """An analyzer that tracks one face across consecutive frames (static_image_mode=False)."""
        return cls(static_image_mode=False, max_num_faces=max_num_faces, **kwargs)

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> FaceAnalyzer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the mediapipe graphs. Safe to call twice."""
        with self._lock:
            for graph in (self._mesh, self._detector, self._segmenter):
                if graph is not None:
                    graph.close()
            self._mesh = self._detector = self._segmenter = None
            self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("FaceAnalyzer is closed")

    def _get_mesh(self) -> Any:
        if self._mesh is None:
            from mediapipe.python.solutions import face_mesh

            self._mesh = face_mesh.FaceMesh(
                static_image_mode=self.static_image_mode,
                refine_landmarks=True,
                max_num_faces=self.max_num_faces,
                min_detection_confidence=self.min_detection_confidence,
                min_tracking_confidence=self.min_tracking_confidence,
            )
        return self._mesh

    def _get_detector(self) -> Any:
        if self._detector is None:
            from mediapipe.python.solutions import face_detection

            # model 1 = full range: also finds small faces (people further from the camera).
            self._detector = face_detection.FaceDetection(
                model_selection=1, min_detection_confidence=self.min_detection_confidence
            )
        return self._detector

    def _get_segmenter(self) -> Any:
        if self._segmenter is None:
            from mediapipe.python.solutions import selfie_segmentation

            self._segmenter = selfie_segmentation.SelfieSegmentation(model_selection=self.segmentation_model)
        return self._segmenter

    # -- analysis ----------------------------------------------------------------------------

    def landmarks(self, rgb: np.ndarray) -> list[np.ndarray]:
        """Face-mesh landmarks of every face found: (478, 3) float32 arrays, (x*w, y*h, z*w) pixels."""
        img = _as_rgb(rgb)
        h, w = img.shape[:2]
        with self._lock:
            self._check_open()
            result = self._get_mesh().process(img)
        scale = np.array([w, h, w], dtype=np.float32)
        faces = []
        for face in result.multi_face_landmarks or ():
            pts = np.array([(p.x, p.y, p.z) for p in face.landmark], dtype=np.float32)
            faces.append(pts * scale)
        return faces

    def detections(self, rgb: np.ndarray) -> list[FaceBox]:
        """Face boxes from the full-range face detector alone (clipped to the image)."""
        img = _as_rgb(rgb)
        h, w = img.shape[:2]
        with self._lock:
            self._check_open()
            result = self._get_detector().process(img)
        boxes = []
        for det in result.detections or ():
            rb = det.location_data.relative_bounding_box
            x0 = int(np.clip(round(rb.xmin * w), 0, w))
            y0 = int(np.clip(round(rb.ymin * h), 0, h))
            x1 = int(np.clip(round((rb.xmin + rb.width) * w), 0, w))
            y1 = int(np.clip(round((rb.ymin + rb.height) * h), 0, h))
            if x1 > x0 and y1 > y0:
                boxes.append(FaceBox(x0, y0, x1, y1, float(det.score[0]), "detector"))
        return boxes

    def faces(self, rgb: np.ndarray, *, landmarks: list[np.ndarray] | None = None) -> list[FaceBox]:
        """Every distinct face either detector sees, mesh boxes first, then detector-only ones.

        A face counts once even when both models find it; a face only one model finds still
        counts, so a second person is not missed because the mesh gave up on them. Pass the
        result of `landmarks(rgb)` to avoid running the face mesh twice.
        """
        if landmarks is None:
            landmarks = self.landmarks(rgb)
        found: list[FaceBox] = []
        for lm in landmarks:
            box = landmarks_box(lm)
            if not any(_same_face(box, other) for other in found):
                found.append(box)
        for box in sorted(self.detections(rgb), key=lambda b: -b.score):
            if not any(_same_face(box, other) for other in found):
                found.append(box)
        return found

    def person_mask(self, rgb: np.ndarray, *, threshold: float = 0.5) -> np.ndarray:
        """The person matte: uint8 (H, W), 255 = person, with a soft edge a few pixels wide.

        The segmentation confidence is smoothed and thresholded, only the largest connected
        region is kept (stray blobs in the background go), holes inside it are filled (a dark
        collar or glasses are still the person) and the edge is feathered.
        """
        img = _as_rgb(rgb)
        h, w = img.shape[:2]
        with self._lock:
            self._check_open()
            result = self._get_segmenter().process(img)
        conf = result.segmentation_mask
        if conf is None:
            return np.zeros((h, w), np.uint8)
        conf = np.asarray(conf, dtype=np.float32)
        feather = max(1.0, 0.004 * max(h, w))  # ~2 px at 512, ~8 px at 2048
        conf = cv2.GaussianBlur(conf, (0, 0), feather)
        binary = (conf >= threshold).astype(np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
        if n <= 1:
            return np.zeros((h, w), np.uint8)
        largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        solid = _fill_holes((labels == largest).astype(np.uint8))
        matte = cv2.GaussianBlur(solid.astype(np.float32) * 255.0, (0, 0), feather)
        return np.clip(np.rint(matte), 0, 255).astype(np.uint8)
