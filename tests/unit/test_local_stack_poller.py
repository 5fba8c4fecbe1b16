"""How the local stack reads a consumer's answer, as Lambda's SQS event source does."""
from __future__ import annotations

import pytest

from infra.local_stack import failed_message_ids

BATCH = {"m1", "m2", "m3"}


@pytest.mark.parametrize("response", [None, {}, {"batchItemFailures": []}])
def test_no_failures_listed_means_every_message_is_done(response):
    # GIVEN a consumer answer that lists no failure
    # WHEN it is read
    # THEN no message stays on the queue
    assert failed_message_ids(response, BATCH) == set()


def test_listed_failures_stay_on_the_queue():
    # GIVEN an answer naming one failed message
    response = {"batchItemFailures": [{"itemIdentifier": "m2"}]}

    # WHEN it is read
    # THEN only that message stays
    assert failed_message_ids(response, BATCH) == {"m2"}


@pytest.mark.parametrize("response", [
    "ok",
    {"batchItemFailures": "m2"},
    {"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]},
    {"batchItemFailures": [{"itemIdentifier": ""}]},
    {"batchItemFailures": [{}]},
])
def test_an_answer_that_cannot_be_trusted_fails_the_whole_batch(response):
    # GIVEN an answer that is not a valid partial-failure report
    # WHEN it is read
    # THEN the whole batch stays on the queue, as Lambda would leave it
    assert failed_message_ids(response, BATCH) == BATCH
