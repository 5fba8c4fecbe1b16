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
