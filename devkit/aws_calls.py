"""Count the AWS calls the app makes, by operation name, with botocore event hooks.

    with count_aws_calls(*app_clients()) as calls:
        ...                      # exercise the app
    assert calls["TransactWriteItems"] == 1

A ``before-call`` hook fires once per API operation (retries of the same operation are not counted
again), on the client it is registered on; so every client the app uses has to be hooked. Tests and
benchmarks both count with it.
"""
from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

_ids = itertools.count()


class AwsCalls(Counter):
    """Operation name -> number of calls; ``total()`` is the number of calls of any kind."""

    def __init__(self) -> None:
        super().__init__()
        self.sequence: list[str] = []  # operation names in the order they were made


@contextmanager
def count_aws_calls(*clients) -> Iterator[AwsCalls]:
    calls = AwsCalls()

    def on_call(model, **_kwargs) -> None:
        calls[model.name] += 1
        calls.sequence.append(model.name)

    unique = {id(c): c for c in clients}.values()  # one hook per client, even if passed twice
    hook_id = f"count-aws-calls-{next(_ids)}"
    for client in unique:
        client.meta.events.register("before-call", on_call, unique_id=hook_id)
    try:
        yield calls
    finally:
        for client in unique:
            client.meta.events.unregister("before-call", unique_id=hook_id)


def app_clients() -> list:
    """Every botocore client the app's container uses: one per PynamoDB model, the claim
    repository's own connection (transactions, shared by the rate limiter and the attachment
    index), the SQS client (queues and contacts) and the S3 client."""
    from chalicelib import bootstrap
    from chalicelib.adapters.claims import DynamoClaimRepository
    from chalicelib.adapters.models import ALL_MODELS
    from chalicelib.adapters.sqs import SqsClaimQueue

    container = bootstrap.container()
    clients = [model._get_connection().connection.client for model in ALL_MODELS]
    if isinstance(container.claims, DynamoClaimRepository):
        clients.append(container.claims.connection().client)
    if isinstance(container.queue, SqsClaimQueue):
        clients.append(container.queue.client)
    store = container.attachment_store
    if hasattr(store, "client"):
        clients.append(store.client)  # made now if it was not yet
    return clients
