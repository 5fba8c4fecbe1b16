"""A small stand-in for a partner's callback endpoint, for the local stack: it checks each
notification's signature the way a partner should and logs what it received."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger("partner-receiver")
TOLERANCE_SECONDS = 300


def signature_ok(secret: str, header: str | None, body: bytes, now: float) -> bool:
    """``t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">``, five minutes either way."""
    parts = dict(p.split("=", 1) for p in (header or "").split(",") if "=" in p)
    stamp, given = parts.get("t", ""), parts.get("v1", "")
    if not stamp.isdigit() or abs(now - int(stamp)) > TOLERANCE_SECONDS:
        return False
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given)


class PartnerReceiver:
    def __init__(self, host: str, port: int, secret: str):
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(min(int(self.headers.get("Content-Length") or 0), 64 * 1024))
                ok = signature_ok(secret, self.headers.get("X-Signature"), body, time.time())
                if ok:
                    notice = json.loads(body)
                    receiver.received.append(notice)
                    log.info("partner callback: claim %s is %s (signature verified, id %s)", notice.get("claim_id"),
                             notice.get("status"), self.headers.get("X-Notification-Id"))
                else:
                    log.warning("partner callback with a bad signature refused")
                self.send_response(204 if ok else 401)
                self.end_headers()

            def log_message(self, *args):  # the line above says what matters
                return

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.url = f"http://{host}:{port}/claims-callback"

    def start(self) -> None:
        threading.Thread(target=self.server.serve_forever, name="partner-receiver", daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
