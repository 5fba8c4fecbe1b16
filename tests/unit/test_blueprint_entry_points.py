"""Functions declared in blueprints, entered as Lambda enters them once deployed: through the blueprint's
module, with ``app.py`` never imported. They must still get the ``observe`` middleware (each log line
carries its invocation's request id; nothing of one invocation stays bound into the next)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_ENTER_LIKE_LAMBDA = r"""
import json, sys
from chalicelib.consumers import pipeline

class Context:
    def __init__(self, request_id):
        self.aws_request_id = request_id
        self.function_name = "score_claims"

unreadable = {"Records": [{"messageId": "m1", "body": "{not json", "attributes": {"ApproximateReceiveCount": "1"},
                           "messageAttributes": {}, "eventSource": "aws:sqs"}]}
answers = [pipeline.score_claims(unreadable, Context(request_id)) for request_id in ("req-1", "req-2")]
print("ANSWERS " + json.dumps(answers))
print("APP IMPORTED " + json.dumps("app" in sys.modules))
"""


def test_a_consumer_entered_through_its_blueprint_module_logs_with_its_invocation_context():
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "ap-southeast-1", "AWS_REGION": "ap-southeast-1",
           "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing answers there: no call may leave the machine
           "AWS_EC2_METADATA_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "1", "POWERTOOLS_DEV": "false",
           "POWERTOOLS_LOG_LEVEL": "INFO", "CUSTOMER_ID_KEY": "unit-test-key"}
    done = subprocess.run([sys.executable, "-c", _ENTER_LIKE_LAMBDA], cwd=REPO, env=env, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    # GIVEN the function called as Lambda calls it, twice, app.py never imported
    assert "APP IMPORTED false" in lines
    answers = json.loads(next(line for line in lines if line.startswith("ANSWERS "))[len("ANSWERS "):])
    assert answers == [{"batchItemFailures": [{"itemIdentifier": "m1"}]}] * 2
    # THEN each invocation's log line carries its own request id and the record's context
    logged = [json.loads(line) for line in lines if line.startswith("{") and '"level"' in line]
    unreadable = [line for line in logged if line["message"].startswith("unreadable message")]
    assert [(line["function_request_id"], line["message_id"]) for line in unreadable] == [("req-1", "m1"),
                                                                                          ("req-2", "m1")]
