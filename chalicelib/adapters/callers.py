"""What the screen pop reads about a phone number, and where IVR contact entries are stored."""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.adapters.models import ClaimModel, ContactModel, CustomerModel
from chalicelib.adapters.resources import CONTACT_TTL_DAYS
from chalicelib.domain.caller import CallerClaim, Contact, CustomerRecord
from chalicelib.domain.claim import iso


def contact_sort_key(contact: Contact) -> str:
    return f"{iso(contact.at)}#{contact.contact_id}#{contact.kind}"


def contact_to_model(c: Contact) -> ContactModel:
    return ContactModel(c.phone, contact_sort_key(c), at=iso(c.at), channel=c.channel, kind=c.kind,
                        contact_id=c.contact_id, claim_id=c.claim_id, customer_id=c.customer_id,
                        expires_at=c.at + timedelta(days=CONTACT_TTL_DAYS))


class DynamoCallerDirectory:
    def customer_by_phone(self, phone_e164: str) -> CustomerRecord | None:
        for m in CustomerModel.by_phone.query(phone_e164, limit=1):
            return CustomerRecord(m.customer_id, m.name, m.phone, m.id_number, m.language or "zh-CN")
        return None

    def claims_by_phone(self, phone_e164: str, limit: int) -> list[CallerClaim]:
        return [CallerClaim(m.claim_id, m.status, m.channel, m.loss_type, m.received_at, m.resolved_policy)
                for m in ClaimModel.by_caller.query(phone_e164, scan_index_forward=False, limit=limit)]

    def recent_contacts(self, phone_e164: str, limit: int) -> list[Contact]:
        return [Contact(m.phone, datetime.fromisoformat(m.at.replace("Z", "+00:00")), m.channel, m.kind,
                        m.contact_id, m.claim_id, m.customer_id)
                for m in ContactModel.query(phone_e164, scan_index_forward=False, limit=limit)]


class DynamoContactStore:
    def write_many(self, contacts: list[Contact]) -> None:
        """BatchWriteItem, 25 a request, unprocessed items retried by PynamoDB; the key is the
        contact's time, id and kind, so a redelivered or replayed contact overwrites itself. One
        request may not name a key twice (DynamoDB refuses the whole request), so a replay that lands
        in the same batch as its original is written once."""
        unique = {(c.phone, contact_sort_key(c)): c for c in contacts}
        with ContactModel.batch_write() as batch:
            for c in unique.values():
                batch.save(contact_to_model(c))
