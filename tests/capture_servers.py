"""Local stand-ins for Slack, PagerDuty and an SMTP relay that record what Alertmanager
sends, so tests can assert the rendered notifications.

HTTPCapture answers every POST with 200 and keeps (path, JSON body). SMTPCapture speaks
the part of SMTP Alertmanager uses without TLS or AUTH (EHLO/HELO, MAIL, RCPT, DATA,
RSET, NOOP, QUIT) and keeps each message, parsed.
"""

from __future__ import annotations

import email
import email.policy
import json
import queue
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve_http(handler_class) -> tuple[ThreadingHTTPServer, str]:
    """Serve `handler_class` on a free loopback port in a thread; returns (server, base URL)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def stop_http(server: ThreadingHTTPServer):
    server.shutdown()
    server.server_close()


class HTTPCapture:
    def __init__(self):
        self.posts: "queue.Queue[tuple[str, dict]]" = queue.Queue()
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    posts.put((self.path, json.loads(body)))
                except ValueError:
                    posts.put((self.path, {"unparsable body": body.decode(errors="replace")}))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                # PagerDuty's answer to an accepted event; Slack ignores the body.
                self.wfile.write(b'{"status":"success","message":"Event processed"}')

            def log_message(self, *args):
                pass

        self.server, self.url = serve_http(Handler)

    def stop(self):
        stop_http(self.server)


class SMTPCapture:
    def __init__(self):
        self.messages: "queue.Queue[email.message.EmailMessage]" = queue.Queue()
        self.envelopes: list[tuple[str, list[str]]] = []
        capture = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str):
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self):
                self.reply("220 foresight-test SMTP capture ready")
                sender, recipients = "", []
                while True:
                    raw = self.rfile.readline()
                    if not raw:
                        return
                    command = raw.decode(errors="replace").strip()
                    verb = command[:4].upper()
                    if verb == "EHLO":
                        self.reply("250-foresight-test")
                        self.reply("250-8BITMIME")
                        self.reply("250 SIZE 10485760")
                    elif verb == "HELO":
                        self.reply("250 foresight-test")
                    elif verb == "MAIL":
                        sender, recipients = command[10:].strip(), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        recipients.append(command[8:].strip())
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 End data with <CR><LF>.<CR><LF>")
                        capture._store(sender, recipients, self._read_data())
                        self.reply("250 OK: queued")
                    elif verb in ("RSET", "NOOP"):
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 Bye")
                        return
                    else:
                        self.reply("502 Command not implemented")

            def _read_data(self) -> bytes:
                lines = []
                while True:
                    line = self.rfile.readline()
                    if not line or line in (b".\r\n", b".\n"):
                        return b"".join(lines)
                    # Undo dot-stuffing (RFC 5321 4.5.2).
                    lines.append(line[1:] if line.startswith(b"..") else line)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _store(self, sender: str, recipients: list[str], data: bytes):
        self.envelopes.append((sender, recipients))
        self.messages.put(email.message_from_bytes(data, policy=email.policy.default))

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def drain(q: queue.Queue, settle: float) -> list:
    """Everything in q after nothing new has arrived for `settle` seconds."""
    items = []
    while True:
        try:
            items.append(q.get(timeout=settle))
        except queue.Empty:
            return items


def wait_for(q: queue.Queue, count: int, timeout: float) -> list:
    """The first `count` items from q, or fewer when `timeout` runs out."""
    items, deadline = [], time.monotonic() + timeout
    while len(items) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            items.append(q.get(timeout=remaining))
        except queue.Empty:
            break
    return items
