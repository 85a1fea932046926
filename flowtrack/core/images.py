"""Uploaded pictures (logos, device photos, signatures): checked before they are decoded, then re-encoded, which
drops whatever else the file carried (EXIF with the phone's GPS position, comments, trailing data)."""
from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 40_000_000  # refused before decoding: a small file can unpack into a huge image
# Photos taken on a phone (of devices, of dataplates, sent with service requests), as they are kept.
PHOTO_FORMATS = ("JPEG", "MPO", "PNG", "WEBP")  # MPO: how some phone cameras' JPEGs decode
PHOTO_MAX_BYTES = 15 * 1024 * 1024
PHOTO_LARGEST_SIDE = 1600
PHOTO_THUMBNAIL_SIDE = 320


class PictureRefused(ValueError):
    """Not a picture we can use; the message says why, for the form."""


def read_picture(data: bytes, *, formats: tuple[str, ...], max_bytes: int, what: str = "picture",
                 max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode an upload, refusing the wrong size, type or a decompression bomb; turned upright per its EXIF."""
    kinds = _named(formats)
    if not data:
        raise PictureRefused(f"Choose a {what} to upload.")
    if len(data) > max_bytes:
        raise PictureRefused(f"The {what} can be at most {max_bytes // (1024 * 1024)} MB.")
    try:
        image = Image.open(io.BytesIO(data))
        if image.format not in formats:
            raise PictureRefused(f"Upload the {what} as a {kinds} picture.")
        if image.width * image.height > max_pixels:
            raise PictureRefused(f"That {what} is too large; use one under {max_pixels // 1_000_000} megapixels.")
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError):
        raise PictureRefused(f"That file is not a picture we can read; upload a {kinds}.") from None
    return ImageOps.exif_transpose(image)


def _named(formats: tuple[str, ...]) -> str:
    """'JPEG, PNG or WebP': the kinds as a person knows them (MPO is how some phones' JPEGs decode)."""
    names = [{"WEBP": "WebP"}.get(kind, kind) for kind in formats if kind != "MPO"]
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


def encoded(image: Image.Image, *, largest_side: int, format: str, quality: int = 85) -> tuple[bytes, int, int]:
    """The picture shrunk to fit `largest_side` and written afresh; returns the bytes and the new size."""
    copy = image.copy()
    copy.thumbnail((largest_side, largest_side))
    if format == "JPEG":
        copy = copy.convert("RGB")
    elif format == "PNG":
        copy = copy.convert("RGBA")
    out = io.BytesIO()
    copy.save(out, format=format, optimize=True, **({"quality": quality} if format == "JPEG" else {}))
    return out.getvalue(), copy.width, copy.height


@dataclass(frozen=True)
class Prepared:
    """A photo as it is kept: re-encoded as JPEG without its EXIF, at most PHOTO_LARGEST_SIDE, and its thumbnail."""

    full: bytes
    thumbnail: bytes
    width: int
    height: int


def prepared_photo(data: bytes) -> Prepared:
    """The photo to keep, from the bytes uploaded (PictureRefused with the reason when it is not a usable picture)."""
    image = read_picture(data, formats=PHOTO_FORMATS, max_bytes=PHOTO_MAX_BYTES, what="photo")
    full, width, height = encoded(image, largest_side=PHOTO_LARGEST_SIDE, format="JPEG")
    thumbnail, _, _ = encoded(image, largest_side=PHOTO_THUMBNAIL_SIDE, format="JPEG", quality=75)
    return Prepared(full, thumbnail, width, height)
