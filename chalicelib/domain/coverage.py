"""Coverage check of a resolved policy against a loss: dates, peril, currency, limit and deductible."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from chalicelib.domain.claim import ClaimSubmission
from chalicelib.domain.policy import Policy
from chalicelib.domain.products import Product

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Coverage:
    covered: bool
    reasons: tuple[str, ...]
    payable: Decimal  # suggested payable amount; 0 when not covered
    needs_survey: bool


def loss_date_in(product: Product, sub: ClaimSubmission):
    """The loss's calendar date where the policy runs: a loss at 23:30 in Shanghai on the last day is
    on that day, whatever offset the claimant's device sent."""
    return sub.occurred_at.astimezone(ZoneInfo(product.timezone)).date()


def check_coverage(policy: Policy, product: Product, sub: ClaimSubmission) -> Coverage:
    reasons = []
    if policy.status != "ACTIVE":
        reasons.append(f"policy_{policy.status.lower()}")
    loss_day = loss_date_in(product, sub)
    if not policy.starts_on <= loss_day <= policy.ends_on:
        reasons.append("loss_outside_policy_period")
    if sub.loss_type not in product.perils:
        reasons.append("peril_not_covered")
    if sub.currency != product.currency:
        reasons.append("currency_mismatch")
    if reasons:
        return Coverage(False, tuple(reasons), Decimal("0.00"), product.field_survey)

    if sub.amount > product.limit:
        reasons.append("amount_capped_at_limit")
    if product.deductible:
        reasons.append(f"deductible_{product.deductible}")
    return Coverage(True, tuple(reasons), payable_for(sub.amount, product), product.field_survey)


def payable_for(amount: Decimal, product: Product) -> Decimal:
    """What the cover pays for a loss of ``amount`` (claimed, or assessed by a surveyor): capped at the
    limit, less the deductible, never below 0."""
    return max(Decimal("0"), min(amount, product.limit) - product.deductible).quantize(CENT)
