"""Consumer batches cost per batch what they used to cost per record: claims, policies and the
delivery log read with one BatchGetItem each, each region's surveyors read once, messages sent ten
to a SendMessageBatch and deliveries recorded with one BatchWriteItem. Counted with botocore's
before-call hooks on every client the app uses (devkit/aws_calls.py), against in-process moto."""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib import bootstrap
from chalicelib.adapters.models import ClaimModel
from chalicelib.adapters.resources import DISPATCH_QUEUE, NOTIFY_QUEUE, SCORING_QUEUE
from chalicelib.domain.claim import ClaimStatus
from devkit.aws_calls import app_clients, count_aws_calls
from tests.fakes import SHANGHAI, claim_body, new_claim, submission
from tests.integration.callbacks import delivered_count, notify
from tests.integration.conftest import post_claim, surveyor_load
from tests.integration.workloads import field_claims, motor_claims

BATCH = 10


def test_a_scoring_batch_reads_claims_and_policies_once_and_sends_its_messages_together(client, queues, pipeline):
    # GIVEN ten motor claims waiting to be scored (warm container: a food claim scored before)
    assert post_claim(client, claim_body()).status_code == 202
    pipeline.score_all()
    ids = motor_claims(client, BATCH)
    messages = queues.receive_all(SCORING_QUEUE.name)
    assert len(messages) == BATCH

    # WHEN the scoring consumer gets them as one batch
    with count_aws_calls(*app_clients()) as calls:
        answer = pipeline.invoke("score_claims", messages)

    # THEN every claim is scored for a field survey
    assert answer == {"batchItemFailures": []}
    claims = bootstrap.container().claims
    assert {claims.get(i).status for i in ids} == {ClaimStatus.AWAITING_SURVEYOR}
    # AND the claims and their policies were read with one BatchGetItem each, the history queries (policy,
    # plate, phone) and the scored claim's transaction stay per claim, and the ten dispatch messages and
    # ten partner notices left in one SendMessageBatch each (the dispatch queue's URL is looked up once
    # here; deployed, every URL comes from the environment)
    assert calls.pop("GetQueueUrl", 0) <= 1
    assert dict(calls) == {"BatchGetItem": 2, "Query": 3 * BATCH, "TransactWriteItems": BATCH,
                           "SendMessageBatch": 2}
    assert calls.total() / BATCH == 4.4
    assert len(queues.receive_all(DISPATCH_QUEUE.name)) == BATCH


def test_a_dispatch_batch_reads_each_region_once_and_never_overfills_a_surveyor(client, queues, pipeline):
    # GIVEN ten motor claims in one district waiting for a surveyor
    ids = field_claims(client, pipeline, BATCH)
    messages = queues.receive_all(DISPATCH_QUEUE.name)
    assert len(messages) == BATCH

    # WHEN the dispatch consumer gets them as one batch
    with count_aws_calls(*app_clients()) as calls:
        answer = pipeline.invoke("dispatch_claims", messages)

    # THEN each claim is assigned or waiting, and no surveyor holds more than its capacity
    assert answer == {"batchItemFailures": []}
    claims = bootstrap.container().claims
    statuses = [claims.get(i).status for i in ids]
    assigned = statuses.count(ClaimStatus.SURVEYOR_ASSIGNED)
    assert assigned >= 1
    assert assigned + statuses.count(ClaimStatus.WAITING_FOR_SURVEYOR) == BATCH
    loads = {s: surveyor_load(s) for s in ("SV-SH-001", "SV-SH-002")}
    assert sum(loads.values()) <= assigned and all(load <= 5 for load in loads.values())
    # AND the claims were read once (one BatchGetItem), each region searched at most once for the whole
    # batch, no single reads or sends: waiting claims' retries and partner notices went out in batches
    assert calls["BatchGetItem"] == 1 and "GetItem" not in calls and "SendMessage" not in calls
    assert calls["Query"] < BATCH
    assert calls["SendMessageBatch"] <= 2
    # one reservation per assigned claim, plus one per surveyor found full (the batch then knows it);
    # a waiting claim also writes its waiting status once
    assert calls["TransactWriteItems"] <= BATCH + 2 + assigned


def test_a_notify_batch_reads_the_log_and_claims_once_and_records_deliveries_together(
        client, queues, pipeline, receiver):
    # GIVEN ten partner notices waiting (ten motor claims scored for a field survey)
    motor_claims(client, BATCH)
    pipeline.score_all()
    messages = queues.receive_all(NOTIFY_QUEUE.name)
    assert len(messages) == BATCH

    # WHEN the notify consumer gets them as one batch
    with count_aws_calls(*app_clients()) as calls:
        answer = notify(client, queues, messages)

    # THEN all ten reach the partner and are recorded
    assert answer == {"batchItemFailures": []}
    assert len(receiver.received) == BATCH
    assert delivered_count() == BATCH
    # AND the delivery log and the claims were read with one BatchGetItem each, the partner's callback
    # once (then cached), and the ten deliveries written with one BatchWriteItem
    assert dict(calls) == {"BatchGetItem": 2, "GetItem": 1, "BatchWriteItem": 1}

    # WHEN the same batch is delivered again (SQS redelivers it)
    with count_aws_calls(*app_clients()) as again:
        assert notify(client, queues, messages) == {"batchItemFailures": []}

    # THEN nothing is posted twice, and it cost the two batch reads
    assert len(receiver.received) == BATCH
    assert dict(again) == {"BatchGetItem": 2}


def test_history_queries_read_one_bounded_page_however_many_claims_match(aws):
    # GIVEN seven claims from one phone (stored as intake stores them)
    from chalicelib.adapters.claim_indexes import DynamoClaimHistory
    from chalicelib.adapters.claims import DynamoClaimRepository

    repo = DynamoClaimRepository()
    news = [new_claim(sub=submission(phone="+8613900139000")) for _ in range(7)]
    repo.add_many(news)

    # WHEN scoring asks who else called from it, with a page limit of five
    history = DynamoClaimHistory(limit=5)
    with count_aws_calls(ClaimModel._get_connection().connection.client) as calls:
        found = history.from_phone_since("+8613900139000", datetime.now(SHANGHAI) - timedelta(days=1))

    # THEN one query answers five of them, never more (the rules count up to three)
    assert len(found) == 5 and set(found) <= {n.claim.claim_id for n in news}
    assert dict(calls) == {"Query": 1}
