"""Claim photos: where they live in the bucket, and how one is recognised when it comes back."""
from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field

from chalicelib.adapters.resources import ATTACHMENTS_PREFIX

_KEY = re.compile(rf"{re.escape(ATTACHMENTS_PREFIX)}(CLM-[0-9A-Z]{{26}})/(ATT-[0-9A-Z]{{26}})")


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


def perceptual_hash(data: bytes) -> str | None:
    """The 64-bit pHash (DCT) of the image, hex, with the imagehash library: near-identical photos (the
    same picture re-saved, resized, recompressed) share it. None when Pillow cannot read the bytes (a
    HEIC photo without a HEIF plugin, or not an image at all). Imported here, not at module load: only
    the attachment function pays for numpy, scipy and Pillow."""
    import imagehash
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return str(imagehash.phash(image))
    except (UnidentifiedImageError, OSError, ValueError):
        return None
