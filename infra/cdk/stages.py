"""What differs between the stages of the deployment, beyond .chalice/config.json.

Memory, timeouts, reserved concurrency and X-Ray per function stay in ``.chalice/config.json`` (the
Chalice construct reads them from there); this file adds what only the AWS deployment needs.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHALICE_CONFIG = PROJECT_ROOT / ".chalice" / "config.json"


@dataclass(frozen=True)
class StageSettings:
    # prod: tables and bucket survive `cdk destroy` (RETAIN) and tables refuse deletion
    # (DeletionProtectionEnabled); dev: everything goes with the stack.
    production: bool
    log_retention_days: int
    # ScalingConfig.MaximumConcurrency of each function's SQS event source (2..1000): how many
    # concurrent invocations one queue may drive, so a burst queues up instead of overwhelming what
    # sits behind (DynamoDB hot keys, surveyor reservations, partners' callback endpoints). Capped at
    # the function's reserved concurrency when .chalice/config.json sets one (AWS's advice: a
    # maximum above the reserve only produces throttles).
    sqs_max_concurrency: dict[str, int] = field(default_factory=dict)


STAGES: dict[str, StageSettings] = {
    "dev": StageSettings(
        production=False,
        log_retention_days=14,
        sqs_max_concurrency={"score_claims": 5, "dispatch_claims": 2, "record_contacts": 2, "notify_partners": 2},
    ),
    "prod": StageSettings(
        production=True,
        log_retention_days=365,
        sqs_max_concurrency={"score_claims": 50, "dispatch_claims": 10, "record_contacts": 5, "notify_partners": 20},
    ),
}


def chalice_config() -> dict:
    return json.loads(CHALICE_CONFIG.read_text())


def chalice_stages() -> list[str]:
    return list(chalice_config()["stages"])


def settings_for(stage: str) -> StageSettings:
    if stage not in chalice_stages():
        raise ValueError(f"stage {stage!r} is not in .chalice/config.json (stages: {', '.join(chalice_stages())})")
    if stage not in STAGES:
        raise ValueError(f"stage {stage!r} has no deployment settings in infra/cdk/stages.py")
    return STAGES[stage]


def reserved_concurrency(stage: str, function: str) -> int | None:
    config = chalice_config()
    stage_config = config["stages"][stage]
    for scope in (stage_config.get("lambda_functions", {}).get(function, {}), stage_config,
                  config.get("lambda_functions", {}).get(function, {}), config):
        if scope.get("reserved_concurrency") is not None:
            return int(scope["reserved_concurrency"])
    return None


def sqs_max_concurrency(stage: str, function: str) -> int:
    wanted = settings_for(stage).sqs_max_concurrency.get(function)
    if wanted is None:
        raise ValueError(f"no sqs_max_concurrency for {function!r} in stage {stage!r} (infra/cdk/stages.py)")
    reserved = reserved_concurrency(stage, function)
    value = min(wanted, reserved) if reserved is not None else wanted
    return max(2, min(1000, value))
