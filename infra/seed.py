"""Demo data for the local stack and the tests: partners with API keys, policies, surveyors."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from chalicelib.adapters.models import ApiKeyModel, PartnerModel, PolicyModel, SurveyorModel
from chalicelib.services.auth import hash_api_key


@dataclass(frozen=True)
class DemoPartner:
    partner_id: str
    name: str
    api_key: str


# Demo keys only exist on the local stack; real keys are issued per partner and stored hashed.
DEMO_PARTNERS = (
    DemoPartner("eleme", "Food delivery partner", "demo-key-eleme-7f3a9c"),
    DemoPartner("hellobike", "Bike sharing partner", "demo-key-hellobike-51d2e8"),
    DemoPartner("motor-direct", "Motor direct channel", "demo-key-motor-direct-a04b6d"),
)

DEMO_POLICIES = (
    ("PA2026000123", "food_safety", "张三", "+8613800138000", None, "E123456", "eleme"),
    ("PB2026000456", "shared_bike_accident", "李四", "+8613900139000", None, None, "hellobike"),
    ("PM2026000789", "motor", "王五", "+8613700137000", "沪A12345", None, "motor-direct"),
)

DEMO_SURVEYORS = (
    ("SV-SH-001", "陈查勘", "310115", 3),
    ("SV-SH-002", "刘查勘", "310115", 2),
    ("SV-SH-003", "周查勘", "310104", 2),
    ("SV-BJ-001", "赵查勘", "110105", 2),
)


def seed() -> dict:
    now = datetime.now(timezone.utc)
    for p in DEMO_PARTNERS:
        PartnerModel(p.partner_id, name=p.name, active=1, created_at=now).save()
        ApiKeyModel(hash_api_key(p.api_key), partner_id=p.partner_id, label="demo", active=1,
                    created_at=now).save()
    for number, product, name, phone, plate, order_id, partner in DEMO_POLICIES:
        PolicyModel(number, product=product, customer_id=f"CUS-{phone[-8:]}", holder_name=name, holder_phone=phone, plate=plate,
                    order_id=order_id, partner_id=partner, starts_on="2026-01-01", ends_on="2026-12-31").save()
    for surveyor_id, name, region, capacity in DEMO_SURVEYORS:
        SurveyorModel(surveyor_id, name=name, region_code=region, status="AVAILABLE", capacity=capacity,
                      active_claims=0).save()
    return {"partners": len(DEMO_PARTNERS), "policies": len(DEMO_POLICIES), "surveyors": len(DEMO_SURVEYORS)}
