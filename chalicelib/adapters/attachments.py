"""Claim photos: the bucket they are uploaded to (S3, presigned POSTs) and their index in DynamoDB
(which claim a photo belongs to, and which other claims carry the same picture)."""
from __future__ import annotations

import threading

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.claims import claim_to_model, event_to_model
from chalicelib.adapters.dynamo import raise_if_throttled
from chalicelib.adapters.models import AttachmentModel, ClaimEventModel, ClaimModel
from chalicelib.domain.attachment import Attachment
from chalicelib.domain.claim import Claim, ClaimEvent, iso
from chalicelib.domain.errors import ConcurrentUpdate


class S3AttachmentStore:
    """``client``: an S3 client, or a function making one on first use."""

    def __init__(self, client, bucket: str):
        self._client_or_factory = client
        self._made = None if callable(client) and not hasattr(client, "meta") else client
        self._lock = threading.Lock()
        self._bucket = bucket

    @property
    def client(self):
        if self._made is None:
            with self._lock:
                if self._made is None:
                    self._made = self._client_or_factory()
        return self._made

    def presign_upload(self, key: str, content_type: str, max_bytes: int, expires_in: int) -> dict:
        """Signed locally: no AWS call."""
        return self.client.generate_presigned_post(
            Bucket=self._bucket, Key=key, Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_in)

    def read(self, key: str, max_bytes: int) -> bytes | None:
        try:
            response = self.client.get_object(Bucket=self._bucket, Key=key)
        except self.client.exceptions.NoSuchKey:
            return None
        if int(response.get("ContentLength") or 0) > max_bytes:
            response["Body"].close()
            return None
        data = response["Body"].read(max_bytes + 1)
        return data if 0 < len(data) <= max_bytes else None

class DynamoAttachmentIndex:
    def __init__(self, connection_factory):
        self._connection = connection_factory

    def claims_with(self, sha256: str, phash: str | None) -> set[str]:
        found = {m.claim_id for m in AttachmentModel.by_sha256.query(sha256)}
        if phash:
            found |= {m.claim_id for m in AttachmentModel.by_phash.query(phash)}
        return found

    def record(self, attachment: Attachment, before: Claim, after: Claim, events: list[ClaimEvent]) -> bool:
        item = AttachmentModel(attachment.claim_id, attachment.attachment_id, object_key=attachment.object_key,
                               content_type=attachment.content_type, size=attachment.size, sha256=attachment.sha256,
                               phash=attachment.phash, recorded_at=iso(events[0].at),
                               seen_on_claims=list(attachment.seen_on_claims) or None)
        try:
            with TransactWrite(connection=self._connection()) as tx:
                tx.save(item, condition=AttachmentModel.attachment_id.does_not_exist())
                tx.save(claim_to_model(after), condition=ClaimModel.version == before.version)
                for event in events:
                    tx.save(event_to_model(event), condition=ClaimEventModel.claim_id.does_not_exist())
        except TransactWriteError as exc:
            failed = [r is not None and r.code == "ConditionalCheckFailed" for r in exc.cancellation_reasons]
            if failed[:1] == [True]:
                return False
            if any(failed[1:]):
                raise ConcurrentUpdate("The claim was changed by someone else.") from exc
            raise_if_throttled(exc)
            raise
        return True
