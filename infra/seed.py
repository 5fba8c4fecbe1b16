"""Demo data for the local stack and the tests: partners with API keys, policies and their customers
(imported from ``infra/data/demo_policies.csv`` by the policy importer), surveyors."""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timezone
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
DEMO_IVR_VENDOR = "demo-ivr"
DEMO_IVR_SECRET = "demo-ivr-webhook-secret-8d21f0"
DEMO_TWILIO_AUTH_TOKEN = "demo-twilio-auth-token-62b7aa"
DEMO_STATUS_TOKEN_SECRET = "demo-status-token-secret-4e90b2"
DEMO_CALLBACK_SECRET = "demo-partner-callback-secret-b71c33"
DEMO_SURVEYOR_TOKENS = {"SV-SH-001": "demo-surveyor-token-sh001", "SV-SH-002": "demo-surveyor-token-sh002"}

DEMO_POLICIES_FILE = Path(__file__).resolve().parent / "data" / "demo_policies.csv"

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
    report = io.StringIO()
    policies = import_files([DEMO_POLICIES_FILE], report=Report(report))
    if policies.exit_code != 0 or policies.counts.warnings:
        raise RuntimeError(f"demo policies did not import cleanly:\n{report.getvalue()}{policies.summary()}")
    for surveyor_id, name, region, capacity in DEMO_SURVEYORS:
        SurveyorModel(surveyor_id, name=name, region_code=region, status="AVAILABLE", capacity=capacity,
                      active_claims=0).save()
    return {"partners": len(DEMO_PARTNERS), "policies": policies.counts.imported,
            "customers": policies.counts.customers, "surveyors": len(DEMO_SURVEYORS)}
