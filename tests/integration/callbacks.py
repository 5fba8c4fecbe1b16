"""A partner's callback endpoint for the tests: a small HTTP server on 127.0.0.1 that records what it
receives (moto intercepts AWS endpoints only; urllib reaches it as it is), and the loop that lets the
``notify_partners`` consumer deliver everything waiting on the notify queue."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3

from chalicelib.adapters.models import PartnerModel
from chalicelib.adapters.resources import NOTIFY_QUEUE, Tables


@dataclass
class Received:
    path: str
    headers: Message
    body: bytes


class CallbackReceiver:
    """A partner's callback endpoint: records every request and answers ``status``."""

    def __init__(self):
        self.status = 204
        self.received: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append(Received(self.path, self.headers, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/hooks/claims"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def set_callback(partner_id: str, url: str) -> None:
    PartnerModel(partner_id).update(actions=[PartnerModel.callback_url.set(url)])


@contextmanager
def partner_callback(partner_id: str = "motor-direct") -> Iterator[CallbackReceiver]:
    """A running receiver that ``partner_id``'s callback points at (motor-direct's signing secret is
    configured in tests/conftest.py); always stopped."""
    receiver = CallbackReceiver()
    receiver.start()
    try:
        set_callback(partner_id, receiver.url)
        yield receiver
    finally:
        receiver.stop()


def deliver_all_notices(client, queues) -> None:
    """Invokes ``notify_partners`` on whatever the notify queue holds until it is empty."""
    while messages := queues.receive(NOTIFY_QUEUE.name):
        client.lambda_.invoke("notify_partners", queues.event(NOTIFY_QUEUE.name, messages))
        queues.delete(NOTIFY_QUEUE.name, messages)


def notify(client, queues, messages: list[dict]) -> dict:
    """One ``notify_partners`` invocation with a real SQS event built from received messages."""
    return client.lambda_.invoke("notify_partners", queues.event(NOTIFY_QUEUE.name, messages)).payload


def delivered_count() -> int:
    return boto3.client("dynamodb").scan(TableName=Tables.NOTIFICATIONS, Select="COUNT")["Count"]
