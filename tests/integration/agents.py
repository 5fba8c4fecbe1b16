"""An agent's and a surveyor's calls, for the tests: deciding a claim at the version the agent saw,
reading that version, and a surveyor's headers."""
from __future__ import annotations

import json

from infra.seed import DEMO_AGENT_TOKEN, DEMO_SURVEYOR_TOKENS

AGENT = {"authorization": f"Bearer {DEMO_AGENT_TOKEN}", "content-type": "application/json"}


def decide(client, claim_id: str, body: dict, version: int | str | None, as_: dict = AGENT):
    headers = dict(as_)
    if version is not None:
        headers["if-match"] = f'"{version}"' if isinstance(version, int) else version
    return client.http.post(f"/v1/agent/claims/{claim_id}/decision", headers=headers, body=json.dumps(body))


def version_of(client, claim_id: str) -> int:
    response = client.http.get(f"/v1/agent/claims/{claim_id}", headers=AGENT)
    assert response.status_code == 200
    assert response.headers["ETag"] == f'"{json.loads(response.body)["version"]}"'
    return json.loads(response.body)["version"]


def surveyor_headers(surveyor_id: str) -> dict:
    return {"authorization": f"Bearer {DEMO_SURVEYOR_TOKENS[surveyor_id]}", "content-type": "application/json"}
