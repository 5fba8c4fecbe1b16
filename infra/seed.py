"""Demo data for the local stack and the tests: partners with API keys, policies and their customers
(imported from ``infra/data/demo_policies.csv`` by the policy importer), surveyors."""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from chalicelib.adapters.models import ApiKeyModel, PartnerModel, SurveyorModel
from chalicelib.services.auth import hash_api_key
from infra.import_policies import Report, import_files


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

# Hotline demo credentials, local stack only: the stack sets their settings (the agent token as its
# SHA-256, as a deployed stage must) and prints them in its banner.
DEMO_AGENT_ID = "agent-001"
DEMO_AGENT_TOKEN = "demo-agent-token-3c9e51"
DEMO_SUPERVISOR_ID = "supervisor-001"  # an agent with the supervisor role (AGENT_TOKENS "...:supervisor")
DEMO_SUPERVISOR_TOKEN = "demo-supervisor-token-7f2a90"
DEMO_IVR_VENDOR = "demo-ivr"
DEMO_IVR_SECRET = "demo-ivr-webhook-secret-8d21f0"
DEMO_TWILIO_AUTH_TOKEN = "demo-twilio-auth-token-62b7aa"
DEMO_STATUS_TOKEN_SECRET = "demo-status-token-secret-4e90b2"
DEMO_CALLBACK_SECRET = "demo-partner-callback-secret-b71c33"
DEMO_SURVEYOR_TOKENS = {"SV-SH-001": "demo-surveyor-token-sh001", "SV-SH-002": "demo-surveyor-token-sh002"}
# What a newcomer types into the claim form: a food safety policy of the demo file and its holder's phone.
DEMO_FORM_POLICY, DEMO_FORM_PHONE = "PA2026000123", "138 0013 8000"

DEMO_POLICIES_FILE = Path(__file__).resolve().parent / "data" / "demo_policies.csv"

@dataclass(frozen=True)
class DemoSurveyor:
    surveyor_id: str
    name: str
    region_code: str
    capacity: int
    lat: float  # the surveyor's base
    lon: float


DEMO_SURVEYORS = (
    DemoSurveyor("SV-SH-001", "陈查勘", "310115", 3, 31.2286, 121.5253),  # Pudong, Lujiazui
    DemoSurveyor("SV-SH-002", "刘查勘", "310115", 2, 31.2033, 121.5913),  # Pudong, Zhangjiang
    DemoSurveyor("SV-SH-003", "周查勘", "310104", 2, 31.1946, 121.4370),  # Xuhui, Xujiahui
    DemoSurveyor("SV-SH-004", "王查勘", "310101", 2, 31.2304, 121.4737),  # Huangpu, People's Square (ring 1 of Pudong)
    DemoSurveyor("SV-SH-005", "孙查勘", "310112", 2, 31.1129, 121.3816),  # Minhang, Xinzhuang (ring 1)
    DemoSurveyor("SV-SH-006", "吴查勘", "310106", 1, 31.2491, 121.4560),  # Jing'an (ring 2 of Pudong)
    DemoSurveyor("SV-BJ-001", "赵查勘", "110105", 2, 39.9219, 116.4435),  # Chaoyang
)


def seed() -> dict:
    now = datetime.now(UTC)
    for p in DEMO_PARTNERS:
        PartnerModel(p.partner_id, name=p.name, active=1, created_at=now).save()
        ApiKeyModel(hash_api_key(p.api_key), partner_id=p.partner_id, label="demo", active=1,
                    created_at=now).save()
    report = io.StringIO()
    policies = import_files([DEMO_POLICIES_FILE], report=Report(report))
    if policies.exit_code != 0 or policies.counts.warnings:
        raise RuntimeError(f"demo policies did not import cleanly:\n{report.getvalue()}{policies.summary()}")
    for s in DEMO_SURVEYORS:
        SurveyorModel(s.surveyor_id, name=s.name, region_code=s.region_code, status="AVAILABLE",
                      capacity=s.capacity, active_claims=0, lat=s.lat, lon=s.lon).save()
    return {"partners": len(DEMO_PARTNERS), "policies": policies.counts.imported,
            "customers": policies.counts.customers, "surveyors": len(DEMO_SURVEYORS)}
