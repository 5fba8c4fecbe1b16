"""Photos: S3 invokes ``record_attachment`` for every object stored under ``claims/``; it hashes the
photo and records it on its claim (idempotent: a repeated event records nothing twice)."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.adapters.resources import ATTACHMENTS_BUCKET
from chalicelib.bootstrap import container
from chalicelib.domain.attachment import ATTACHMENTS_PREFIX
from chalicelib.observability import bind, logger, observed

bp = Blueprint(__name__)


@observed
@bp.on_s3_event(bucket=ATTACHMENTS_BUCKET, events=["s3:ObjectCreated:*"], prefix=ATTACHMENTS_PREFIX)
def record_attachment(event):
    bind(object_key=event.key)
    outcome = container().attachments.record_upload(event.key)
    logger.info("attachment event handled", extra={"outcome": outcome})
    return {"outcome": outcome}
