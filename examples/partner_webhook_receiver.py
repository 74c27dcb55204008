"""A minimal webhook receiver that verifies ``X-Recnet-Signature`` before trusting a delivery.

Run it: RECNET_WEBHOOK_SECRET=... python partner_webhook_receiver.py [PORT]. It listens with the
standard library only, answers 204 to a genuine, fresh delivery (de-duplicating on
X-Recnet-Event) and 401 to anything else. ``verified`` is the part to copy into your own service.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


def verified(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """True when ``header`` (t=<timestamp>,v1=<hex>) signs ``body`` with ``secret``, recently."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
        given = fields["v1"]
    except (KeyError, ValueError):
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    fresh = abs(time.time() - timestamp) <= tolerance
    return fresh and hmac.compare_digest(expected.hexdigest(), given)


class Receiver(BaseHTTPRequestHandler):
    """Accepts signed deliveries; each event is handled once even when delivered twice."""

    secret = os.environ.get("RECNET_WEBHOOK_SECRET", "")
    seen: set[str] = set()

    def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if not verified(self.secret, self.headers.get("X-Recnet-Signature", ""), body):
            self.send_response(401)
            self.end_headers()
            return
        event = self.headers.get("X-Recnet-Event", "")
        if event not in self.seen:
            self.seen.add(event)
            print(f"event {event}: {json.loads(body).get('type', '?')}", flush=True)
        self.send_response(204)
        self.end_headers()


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    HTTPServer(("127.0.0.1", port), Receiver).serve_forever()
