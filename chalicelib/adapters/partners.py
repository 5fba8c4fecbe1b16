"""Partners in DynamoDB: who an API key belongs to and the partner's own limits."""
from __future__ import annotations

from chalicelib.adapters.models import ApiKeyModel, PartnerModel
from chalicelib.services.ports import PartnerIdentity


class DynamoPartnerDirectory:
    """Two GetItem calls (the key, then its partner) per lookup; the authenticator caches the answer per
    container, so a warm intake makes none."""

    def by_key_hash(self, key_hash: str) -> PartnerIdentity | None:
        try:
            item = ApiKeyModel.get(key_hash)
        except ApiKeyModel.DoesNotExist:
            return None
        if not item.active:
            return None
        try:
            partner = PartnerModel.get(item.partner_id)
        except PartnerModel.DoesNotExist:
            partner = None  # a key may be issued before its partner record: the defaults apply
        if partner is not None and not partner.active:
            return None  # a suspended partner's keys all stop working
        limit = _positive(partner.rate_limit_per_second) if partner else None
        burst = _positive(partner.rate_burst) if partner else None
        return PartnerIdentity(item.partner_id, item.key_hash, limit, max(1, int(burst)) if burst else None)


def _positive(value) -> float | None:
    """A configured limit, or None (the default applies) when it is unset or not above zero."""
    return float(value) if value is not None and float(value) > 0 else None
