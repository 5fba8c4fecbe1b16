"""The photo pHash: plain Python, bit for bit what the imagehash library computes (imagehash, numpy
and scipy are test dependencies only, so the Lambda package stays small)."""
from __future__ import annotations

import io
import random

import imagehash
import pytest
from PIL import Image, ImageDraw, ImageFilter

from chalicelib.domain.attachment import perceptual_hash


def _photo(seed: int, size=(640, 480), mode="RGB") -> Image.Image:
    rng = random.Random(seed)
    image = Image.new(mode, size, tuple(rng.randrange(256) for _ in range(3)) if mode == "RGB" else rng.randrange(256))
    draw = ImageDraw.Draw(image)
    for _ in range(25):
        x0, y0 = rng.randrange(size[0]), rng.randrange(size[1])
        box = (x0, y0, x0 + rng.randrange(20, 300), y0 + rng.randrange(20, 300))
        colour = tuple(rng.randrange(256) for _ in range(3)) if mode == "RGB" else rng.randrange(256)
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    return image.filter(ImageFilter.GaussianBlur(rng.choice([0, 1, 3])))


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("seed", range(40))
def test_the_same_hash_as_imagehash(seed):
    rng = random.Random(seed)
    size = rng.choice([(640, 480), (480, 640), (33, 97), (1200, 900)])
    mode = rng.choice(["RGB", "L"])
    fmt = rng.choice(["JPEG", "PNG"])
    data = _encode(_photo(seed, size, mode), fmt)
    with Image.open(io.BytesIO(data)) as image:
        expected = str(imagehash.phash(image))
    assert perceptual_hash(data) == expected


def test_a_resaved_and_resized_photo_keeps_its_hash():
    image = _photo(7, (1200, 900))
    first = perceptual_hash(_encode(image, "JPEG", quality=95))
    again = perceptual_hash(_encode(image.resize((600, 450)), "JPEG", quality=70))
    distance = bin(int(first, 16) ^ int(again, 16)).count("1")
    assert distance <= 4  # near-identical: within a few of 64 bits
    other = perceptual_hash(_encode(_photo(8, (1200, 900)), "JPEG"))
    assert bin(int(first, 16) ^ int(other, 16)).count("1") > 10


@pytest.mark.parametrize("data", [b"", b"not an image", b"\xff\xd8\xff\xe0" + b"\x00" * 40])
def test_unreadable_bytes_have_no_hash(data):
    assert perceptual_hash(data) is None
