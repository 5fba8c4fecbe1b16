"""Every test runs with fake credentials and a fixed region; nothing can reach a real AWS endpoint."""
import os

for _var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "SCORING_QUEUE_URL", "DISPATCH_QUEUE_URL"):
    os.environ.pop(_var, None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="ap-southeast-1",
    AWS_REGION="ap-southeast-1",
    AWS_EC2_METADATA_DISABLED="true",
    POWERTOOLS_TRACE_DISABLED="1",
    POWERTOOLS_DEV="false",
    CUSTOMER_ID_KEY="test-customer-id-key",
)

from chalicelib.services.auth import hash_api_key  # noqa: E402 - after the environment is safe
from infra import seed as _demo  # noqa: E402 - after the environment is safe

# The hotline's demo credentials, as the local stack sets them (the agent token only as its hash).
os.environ.update(
    TWILIO_AUTH_TOKEN=_demo.DEMO_TWILIO_AUTH_TOKEN,
    IVR_WEBHOOK_SECRETS=f"{_demo.DEMO_IVR_VENDOR}:{_demo.DEMO_IVR_SECRET}",
    AGENT_TOKENS=f"{_demo.DEMO_AGENT_ID}:{hash_api_key(_demo.DEMO_AGENT_TOKEN)},"
                 f"{_demo.DEMO_SUPERVISOR_ID}:{hash_api_key(_demo.DEMO_SUPERVISOR_TOKEN)}:supervisor",
    STATUS_TOKEN_SECRET=_demo.DEMO_STATUS_TOKEN_SECRET,
    PARTNER_CALLBACK_SECRETS=f"motor-direct:{_demo.DEMO_CALLBACK_SECRET}",
    SURVEYOR_TOKENS=",".join(f"{s}:{hash_api_key(t)}" for s, t in _demo.DEMO_SURVEYOR_TOKENS.items()),
)
