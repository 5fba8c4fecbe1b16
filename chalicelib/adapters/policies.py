"""Policy lookups in DynamoDB: GetItem on the policy number, one GSI query for any other key."""
from __future__ import annotations

from datetime import date

from chalicelib.adapters.models import PolicyModel
from chalicelib.domain.policy import Policy


def policy_from_model(m: PolicyModel) -> Policy:
    return Policy(policy_number=m.policy_number, product=m.product, customer_id=m.customer_id,
                  starts_on=date.fromisoformat(m.starts_on), ends_on=date.fromisoformat(m.ends_on),
                  status=m.status, partner_id=m.partner_id, holder_phone=m.holder_phone, plate=m.plate,
                  order_id=m.order_id, language=m.holder_language, open_claim_id=m.open_claim_id)


class DynamoPolicyDirectory:
    def by_number(self, policy_number: str) -> Policy | None:
        try:
            return policy_from_model(PolicyModel.get(policy_number))
        except PolicyModel.DoesNotExist:
            return None

    def by_numbers(self, policy_numbers: list[str]) -> dict[str, Policy]:
        """One BatchGetItem for up to 100 numbers (a consumer batch's claims); missing ones are absent."""
        unique = list(dict.fromkeys(policy_numbers))
        return {m.policy_number: policy_from_model(m) for m in PolicyModel.batch_get(unique)} if unique else {}

    def by_order_id(self, order_id: str) -> list[Policy]:
        return [policy_from_model(m) for m in PolicyModel.by_order.query(order_id)]

    def by_phone(self, phone_e164: str) -> list[Policy]:
        return [policy_from_model(m) for m in PolicyModel.by_phone.query(phone_e164)]

    def by_plate(self, plate: str) -> list[Policy]:
        return [policy_from_model(m) for m in PolicyModel.by_plate.query(plate)]
