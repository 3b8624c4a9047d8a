"""numpy frames to QImage, the one place that knows the memory layout."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def rgb_to_qimage(image: np.ndarray) -> QImage:
    """An RGB uint8 (H, W, 3) array as a QImage that owns its pixels.

    The QImage is built over the array's memory with its real row stride: without it Qt assumes rows
    padded to 4 bytes, and any width that is not a multiple of 4 comes out sheared. It is then copied,
    so the array may be freed or reused. A view that is not C-contiguous (a crop) is made so first.
    """
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB frame, got {image.shape} {image.dtype}")
    if not image.flags.c_contiguous:
        image = np.ascontiguousarray(image)
    height, width = image.shape[:2]
    qimage = QImage(image.data, width, height, image.strides[0], QImage.Format.Format_RGB888)
    return qimage.copy()
