"""Text read from a photo on our own servers: PP-OCR's detection, direction and recognition models on ONNX Runtime,
as the rapidocr-onnxruntime wheel carries them. Nothing is fetched over the network, and no photo leaves the machine.

The engine is loaded once per worker process (the worker runs jobs in its own process) and kept.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass


@dataclass(frozen=True)
class Box:
    """A piece of text found on the photo: its words, where it stands, and how sure the model is of it."""

    text: str
    left: float
    top: float
    bottom: float
    confidence: float

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


@functools.cache
def _engine():
    from rapidocr_onnxruntime import RapidOCR  # the models load here, from the wheel's own folder

    return RapidOCR()


def load() -> None:
    """Load the engine now (the benchmark times the loading apart from the work)."""
    _engine()


def read_lines(picture: bytes) -> list[str]:
    """The lines of text on a photo (a JPEG, PNG or WebP), top to bottom; the pieces the model found side by side
    are joined left to right into one line."""
    result, _ = _engine()(picture)
    boxes = [Box(text.strip(), min(x for x, _ in corners), min(y for _, y in corners),
                 max(y for _, y in corners), float(confidence))
             for corners, text, confidence in result or [] if text.strip()]
    return [" ".join(box.text for box in sorted(line, key=lambda box: box.left)) for line in _rows(boxes)]


def _rows(boxes: list[Box]) -> list[list[Box]]:
    """Boxes grouped into lines: a box whose middle lies within the height of a line's first box joins that line."""
    rows: list[list[Box]] = []
    for box in sorted(boxes, key=lambda box: box.middle):
        row = rows[-1] if rows else None
        if row is not None and row[0].top <= box.middle <= row[0].bottom:
            row.append(box)
        else:
            rows.append([box])
    return rows
