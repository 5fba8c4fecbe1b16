"""moto's server for the local stack: safe for concurrent clients, and not slowed down by a backlog.

``python -m infra.moto_server -H 127.0.0.1 -p 5000`` is ``python -m moto.server`` with four changes,
all to the stand-in, none to what it answers (tests/integration/test_moto_server.py):

- **One request at a time.** moto's backends are not thread-safe, and its server is threaded: under a
  burst, a TransactWriteItems deep-copies a table while another request writes to it ("dictionary
  changed size during iteration", answered as a 500), a rolled-back transaction puts back a copy of
  the whole table and so drops other clients' writes made meanwhile, and a SendMessage appended while
  a DeleteMessage rebuilds the queue's list is lost. DynamoDB and SQS do none of that. So every request
  holds one lock, except while an SQS long poll waits for messages (it lets go, as a real long poll
  blocks nobody). Clients still interleave freely between requests, which is where real races live
  (tests/integration/test_dispatch_race.py races dispatchers on this server).
- **Transactions undo their own items, not whole tables.** moto backs up every table a
  TransactWriteItems touches (a deep copy, once per item) to roll back a cancelled one: its cost grows
  with the tables, so a burst slows down as it goes. Here the items the transaction names are saved
  before it runs and put back if it fails: the same all-or-nothing outcome, at a cost that does not
  grow with the table.
- **A queue's backlog costs nothing per message handed out.** For every message a ReceiveMessage
  returns, moto checks its retention period by computing *all* the queue's attributes, each count a
  pass over every message in the queue with a datetime built per message and per pass: a receive from
  a queue holding a burst's thousands of messages took a second of CPU. Here the retention period is
  read from the queue, and moto's SQS clock is ``time.time()`` (what its datetime arithmetic computes).
- **A query reads its partition, not the table.** moto's Query starts from the whole table, sorted,
  then filters: a claim's timeline read sorted every event of every claim. Here a table query starts
  from its partition's items and an index query from the items unsorted (moto sorts the matches by
  the index's keys itself): the same answer, in the same order.
"""
from __future__ import annotations

import copy
import sys
import threading
import time
from typing import Any

_requests = threading.Lock()
_holder = threading.local()  # whether this thread holds _requests (a long poll lets go of it)


def _one_at_a_time(call):
    def locked(self, environ: dict[str, Any], start_response: Any) -> Any:
        with _requests:
            _holder.held = True
            try:
                return list(call(self, environ, start_response))  # the whole answer, before the next request
            finally:
                _holder.held = False
    return locked


def _lets_go_while_waiting(wait):
    def waiting(self, timeout: int) -> None:
        if not getattr(_holder, "held", False):
            return wait(self, timeout)
        _holder.held = False
        _requests.release()
        try:
            return wait(self, timeout)
        finally:
            _requests.acquire()
            _holder.held = True
    return waiting


class _NoTableCopies:
    """Stands in for the ``copy`` module inside moto's DynamoDB backend: a table is not copied (the
    transaction's own undo, below, replaces that backup); anything else is, as before."""

    def __init__(self, table_class: type):
        self._table_class = table_class

    def deepcopy(self, value: Any, memo: dict | None = None) -> Any:
        return value if isinstance(value, self._table_class) else copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _slot(backend, operation: dict) -> tuple | None:
    """(table, hash key, range key) of one transaction item, or None when moto will refuse it anyway."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    (kind, op), = operation.items()
    table = backend.tables.get(op.get("TableName"))
    key = op.get("Item") if kind == "Put" else op.get("Key")
    if table is None or not isinstance(key, dict) or table.hash_key_attr not in key:
        return None
    range_key = None
    if table.range_key_attr is not None:
        if table.range_key_attr not in key:
            return None
        range_key = DynamoType(key[table.range_key_attr])
    return table, DynamoType(key[table.hash_key_attr]), range_key


def _put_back(table, hash_key, range_key, saved) -> None:
    if saved is None:
        if range_key is not None:
            table.items.get(hash_key, {}).pop(range_key, None)
        else:
            table.items.pop(hash_key, None)
    elif range_key is not None:
        table.items[hash_key][range_key] = saved
    else:
        table.items[hash_key] = saved


def _undoes_its_own_items(transact):
    def transact_write_items(self, transact_items: list[dict[str, Any]]) -> None:
        saved = []
        for operation in transact_items if len(transact_items) <= 100 else []:
            slot = _slot(self, operation) if isinstance(operation, dict) and len(operation) == 1 else None
            if slot is not None:
                table, hash_key, range_key = slot
                saved.append((*slot, copy.deepcopy(table.get_item(hash_key, range_key))))
        try:
            return transact(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(saved):
                _put_back(table, hash_key, range_key, item)
            raise
    return transact_write_items


def _clock(original):
    def now(dt=None):
        if dt is not None:
            return original(dt)
        return time.time() * (1000.0 if original.__name__.endswith("millis") else 1.0)
    return now


def _retention_period_holds(self, queue_name: str, message) -> bool:
    queue = self.get_queue(queue_name)
    return int(queue.message_retention_period) + message.sent_timestamp / 1000 > time.time()


def _query_reads_only_what_it_needs(query):
    def partition_first(self, hash_key, *args, **kwargs):
        index_name = kwargs["index_name"] if "index_name" in kwargs else (args[6] if len(args) > 6 else None)
        if index_name:
            candidates = [item for held in self.items.values()
                          for item in (held.values() if self.range_key_attr else [held])]
        elif hash_key is not None:
            held = self.items.get(hash_key)
            candidates = [] if held is None else list(held.values()) if self.range_key_attr else [held]
        else:
            return query(self, hash_key, *args, **kwargs)
        self.all_items = lambda: candidates  # one request at a time: nobody else sees this
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items
    return partition_first


def patch_moto() -> None:
    import moto.dynamodb.models as dynamodb
    import moto.sqs.models as sqs
    from moto.dynamodb.models.table import Table
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    from moto.sqs.models import Queue

    # Replacing moto's own methods is what this server is (see the module's docstring): the checker is
    # told so once per patch.
    DomainDispatcherApplication.__call__ = _one_at_a_time(  # type: ignore[method-assign]  # see above
        DomainDispatcherApplication.__call__)
    Queue.wait_for_messages = _lets_go_while_waiting(  # type: ignore[method-assign]  # see above
        Queue.wait_for_messages)
    dynamodb.copy = _NoTableCopies(Table)  # type: ignore[assignment]  # see above: stands in for the module
    backend = dynamodb.DynamoDBBackend
    backend.transact_write_items = _undoes_its_own_items(  # type: ignore[method-assign]  # see above
        backend.transact_write_items)
    Table.query = _query_reads_only_what_it_needs(Table.query)  # type: ignore[method-assign]  # see above
    sqs.unix_time, sqs.unix_time_millis = _clock(sqs.unix_time), _clock(sqs.unix_time_millis)
    sqs.SQSBackend.is_message_valid_based_on_retention_period = _retention_period_holds  # type: ignore[method-assign]  # see above


def main(argv: list[str] | None = None) -> None:
    patch_moto()
    from moto.server import main as serve

    serve(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
