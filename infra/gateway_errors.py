"""What API Gateway answers by itself, before any function runs, in the contract's error shape.

The deployed stage sets these as its gateway responses (infra/cdk/stack.py); the local stack's API
server answers the same for what Chalice's dev server refuses itself (infra/local_stack.py). Without
them an unknown route answers API Gateway's 403 ``{"message": "Missing Authentication Token"}``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class GatewayError:
    status: int | None  # None: the gateway's own status is kept (DEFAULT_4XX, DEFAULT_5XX)
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> str:
        return json.dumps({"error": {"code": self.code, "message": self.message}})


# Keyed by API Gateway's response types.
GATEWAY_ERRORS: dict[str, GatewayError] = {
    # API Gateway's answer for a path or method it has no route for, whatever the credentials
    "MISSING_AUTHENTICATION_TOKEN": GatewayError(404, "NOT_FOUND", "No such route."),
    # the stage's throttling, before the partner's own limit in the function
    "THROTTLED": GatewayError(429, "RATE_LIMITED", "Too many requests; please retry later.", {"Retry-After": "1"}),
    "REQUEST_TOO_LARGE": GatewayError(413, "PAYLOAD_TOO_LARGE", "The request is larger than the API accepts."),
    "UNAUTHORIZED": GatewayError(401, "UNAUTHENTICATED", "Valid credentials are required."),
    "ACCESS_DENIED": GatewayError(403, "FORBIDDEN", "Access is denied."),
    "DEFAULT_4XX": GatewayError(None, "REQUEST_REFUSED", "The request was refused."),
    "DEFAULT_5XX": GatewayError(None, "INTERNAL", "Something went wrong on our side; the request may be retried."),
}
