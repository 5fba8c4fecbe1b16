"""The claim form as a claimant's browser drives it, for the tests: the form's JSON, a submission,
photos with structure (so their perceptual hash means something) uploaded through the presigned POST,
and the status page's data."""
from __future__ import annotations

import io
import json

import requests
from PIL import Image, ImageDraw

from chalicelib.adapters.resources import ATTACHMENTS_BUCKET
from tests.fakes import yesterday_in_shanghai

JSON = {"content-type": "application/json"}
FORM = {"submission_key": "5b0c7a52-9a0e-4d53-8f3e-1f7d6c2b9a11", "policy_number": "pa 2026000123",
        "phone": "138 0013 8000", "loss_type": "food_safety", "occurred_at": yesterday_in_shanghai().isoformat(),
        "region_code": "310115", "description": "午餐外卖后腹泻", "amount": "45.00", "language": "en"}


def post(client, path: str, body: dict, headers: dict | None = None):
    return client.http.post(path, headers={**JSON, **(headers or {})}, body=json.dumps(body, ensure_ascii=False))


def submit(client, **changes):
    return post(client, "/v1/public/claims", {**FORM, **changes})


def photo(seed: int = 1, size: tuple[int, int] = (256, 256), fmt: str = "PNG") -> bytes:
    """A picture with some structure, so its perceptual hash means something."""
    image = Image.new("RGB", size, (240, 240, 235))
    draw = ImageDraw.Draw(image)
    for i in range(6):
        x = (seed * 37 + i * 41) % size[0]
        draw.rectangle([x, i * 30, x + 60, i * 30 + 50], fill=((seed * 50 + i * 30) % 256, 80, 120))
    out = io.BytesIO()
    image.save(out, fmt, quality=90) if fmt == "JPEG" else image.save(out, fmt)
    return out.getvalue()


def upload(client, claim_id: str, data: bytes, content_type: str = "image/png", headers: dict | None = None):
    """Ask for a presigned POST, post the photo to S3 as a browser would, then run the S3 trigger."""
    ticket = post(client, f"/v1/claims/{claim_id}/attachments", {"content_type": content_type, "size": len(data)},
                  headers)
    assert ticket.status_code == 201, ticket.body
    upload_to = json.loads(ticket.body)["upload"]
    sent = requests.post(upload_to["url"], data=upload_to["fields"], files={"file": ("photo", data, content_type)},
                         timeout=10)
    assert sent.status_code in (200, 201, 204), sent.text
    event = client.events.generate_s3_event(bucket=ATTACHMENTS_BUCKET, key=upload_to["fields"]["key"])
    return client.lambda_.invoke("record_attachment", event).payload


def status(client, answer: dict) -> dict:
    response = client.http.get(f"/v1/public/claims/{answer['claim_id']}?t={answer['status_token']}")
    assert response.status_code == 200, response.body
    return json.loads(response.body)
