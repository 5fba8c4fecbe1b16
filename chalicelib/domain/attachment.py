"""Claim photos: where they live in the bucket, and how one is recognised when it comes back."""
from __future__ import annotations

import hashlib
import io
import math
import re
from dataclasses import dataclass, field

from chalicelib.domain.ids import ATTACHMENT_ID_PATTERN, CLAIM_ID_PATTERN

# Where photos live in the bucket (the upload trigger's prefix too), and what a photo may be.
ATTACHMENTS_PREFIX = "claims/"
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ATTACHMENT_TYPES = ("image/jpeg", "image/png", "image/heic")

_KEY = re.compile(rf"{re.escape(ATTACHMENTS_PREFIX)}({CLAIM_ID_PATTERN})/({ATTACHMENT_ID_PATTERN})")


def object_key(claim_id: str, attachment_id: str) -> str:
    return f"{ATTACHMENTS_PREFIX}{claim_id}/{attachment_id}"


def parse_object_key(key: str) -> tuple[str, str] | None:
    """(claim id, attachment id) of a key this service issued; None for anything else."""
    match = _KEY.fullmatch(key)
    return (match.group(1), match.group(2)) if match else None


@dataclass(frozen=True)
class Attachment:
    claim_id: str
    attachment_id: str
    object_key: str
    size: int
    sha256: str
    phash: str | None
    content_type: str | None = None
    seen_on_claims: tuple[str, ...] = field(default=())


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# pHash: the image in grey at 32x32, its 2-D DCT-II, the 8x8 lowest frequencies, one bit per
# coefficient above their median (row-major, first bit most significant) -> 16 hex digits. The
# hackerfactor.com "Looks Like It" method, bit for bit what the imagehash library's phash() gives
# (tests/unit/test_attachment_hash.py compares them), in plain Python: only 8 of the 32 frequencies
# are needed in each direction, about 10,000 multiplications, so the Lambda package needs neither
# numpy nor scipy (~110 MB unzipped, a third of Lambda's 250 MB limit).
_PHASH_SIDE, _PHASH_BITS = 32, 8
_COSINES = tuple(tuple(math.cos(math.pi * k * (2 * n + 1) / (2 * _PHASH_SIDE)) for n in range(_PHASH_SIDE))
                 for k in range(_PHASH_BITS))


def perceptual_hash(data: bytes) -> str | None:
    """The 64-bit pHash of the image, hex: near-identical photos (the same picture re-saved, resized,
    recompressed) share it. None when Pillow cannot read the bytes (a HEIC photo without a HEIF plugin,
    or not an image at all). Pillow is imported here, not at module load: only the attachment
    function pays for it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            grey = image.convert("L").resize((_PHASH_SIDE, _PHASH_SIDE), Image.Resampling.LANCZOS)
            pixels = list(grey.tobytes())  # mode "L": one byte a pixel, row by row
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    return _phash_of(pixels)


def _phash_of(pixels: list[int]) -> str:
    side = _PHASH_SIDE
    rows = [pixels[r * side:(r + 1) * side] for r in range(side)]
    columns = list(zip(*rows, strict=True))
    # DCT down the columns (first 8 frequencies), then along the rows of that (first 8 again).
    # The unnormalised DCT-II's factor 2 per direction does not move a bit against the median.
    down = [[sum(c * x for c, x in zip(cosines, column, strict=True)) for column in columns] for cosines in _COSINES]
    low = [sum(c * x for c, x in zip(cosines, row, strict=True)) for row in down for cosines in _COSINES]
    ordered = sorted(low)
    median = (ordered[31] + ordered[32]) / 2
    bits = "".join("1" if value > median else "0" for value in low)
    return f"{int(bits, 2):016x}"
