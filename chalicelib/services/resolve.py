"""Policy resolution: tie a claim to its policy by whatever key the claimant gave."""
from __future__ import annotations

from chalicelib.domain.claim import ClaimSubmission
from chalicelib.domain.coverage import loss_date_in
from chalicelib.domain.identity import normalise_phone, normalise_plate, normalise_policy_number
from chalicelib.domain.policy import MatchKey, Policy, Resolution, ResolutionOutcome
from chalicelib.domain.products import Catalogue
from chalicelib.observability import logger
from chalicelib.services.ports import PolicyDirectory


class PolicyResolver:
    """Tries policy number, partner order id, phone, then plate: one lookup per key given, never a
    scan. The first key that finds anything decides; several candidates are narrowed to those whose
    product covers the peril, then to those that run on the loss date, then to those still ACTIVE (a
    step that would leave none is skipped), and stay AMBIGUOUS if still several."""

    def __init__(self, policies: PolicyDirectory, products: Catalogue):
        self._policies = policies
        self._products = products

    def with_known(self, submissions: list[ClaimSubmission]) -> PolicyResolver:
        """A resolver for one consumer batch: every policy number the batch names is read up front in
        one BatchGetItem (when the directory can); other keys are looked up as usual."""
        numbers = [n for n in (normalise_policy_number(s.policy_number) for s in submissions) if n]
        by_numbers = getattr(self._policies, "by_numbers", None)
        if len(numbers) < 2 or by_numbers is None:
            return self
        try:
            found = by_numbers(numbers)
        except Exception:  # noqa: BLE001 - each claim looks its policy up itself, as without a batch
            logger.warning("policy batch read failed; looking policies up one by one", exc_info=True)
            return self
        return PolicyResolver(_Known(self._policies, numbers, found), self._products)

    def resolve(self, sub: ClaimSubmission, owner: str) -> Resolution:
        tried: list[MatchKey] = []
        for key, lookup in self._lookups(sub):
            tried.append(key)
            found = [p for p in lookup() if self._visible_to(p, owner, key)]
            if not found:
                continue
            narrowed = self._narrow(found, sub)
            if len(narrowed) == 1:
                return Resolution(ResolutionOutcome.RESOLVED, key, narrowed[0], (), tuple(tried))
            return Resolution(ResolutionOutcome.AMBIGUOUS, key, None,
                              tuple(sorted(p.policy_number for p in narrowed)), tuple(tried))
        return Resolution(ResolutionOutcome.UNVERIFIED, None, None, (), tuple(tried))

    def _lookups(self, sub: ClaimSubmission):
        number = normalise_policy_number(sub.policy_number)
        if number:
            yield MatchKey.POLICY_NUMBER, lambda: [p for p in [self._policies.by_number(number)] if p]
        order_id = sub.order_id.strip() if sub.order_id else None
        if order_id:  # a blank one is no key (and an empty GSI key is a DynamoDB ValidationException)
            yield MatchKey.ORDER_ID, lambda: self._policies.by_order_id(order_id)
        phone = normalise_phone(sub.claimant_phone)
        if phone:
            yield MatchKey.PHONE, lambda: self._policies.by_phone(phone)
        plate = normalise_plate(sub.plate)
        if plate:
            yield MatchKey.PLATE, lambda: self._policies.by_plate(plate)

    @staticmethod
    def _visible_to(policy: Policy, owner: str, key: MatchKey) -> bool:
        # Order ids are only unique within a partner: a partner's order id matches only its own policies
        # (the import requires a partner on every policy with an order id).
        return key is not MatchKey.ORDER_ID or policy.partner_id == owner

    def _narrow(self, found: list[Policy], sub: ClaimSubmission) -> list[Policy]:
        if len(found) == 1:
            return found
        for keep in (self._covers_peril, self._runs_on_loss_date, self._in_force):
            kept = [p for p in found if keep(p, sub)]
            if kept:
                found = kept
            if len(found) == 1:
                break
        return found

    def _covers_peril(self, policy: Policy, sub: ClaimSubmission) -> bool:
        product = self._products.get(policy.product)
        return product is not None and sub.loss_type in product.perils

    @staticmethod
    def _in_force(policy: Policy, sub: ClaimSubmission) -> bool:
        return policy.status == "ACTIVE"

    def _runs_on_loss_date(self, policy: Policy, sub: ClaimSubmission) -> bool:
        product = self._products.get(policy.product)
        return product is not None and policy.starts_on <= loss_date_in(product, sub) <= policy.ends_on


class _Known:
    """A policy directory whose ``by_number`` answers from policies read in advance."""

    def __init__(self, directory: PolicyDirectory, asked: list[str], found: dict[str, Policy]):
        self._directory = directory
        self._asked = set(asked)
        self._found = found

    def by_number(self, policy_number: str) -> Policy | None:
        if policy_number in self._asked:
            return self._found.get(policy_number)
        return self._directory.by_number(policy_number)

    def __getattr__(self, name: str):
        return getattr(self._directory, name)
