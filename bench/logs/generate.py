"""Synthetic but realistic service logs with the template each line came from.

Used twice: `python bench/logs/generate.py` writes the committed labelled set
(bench/logs/labelled.csv, a few thousand lines over a few dozen templates), and the
throughput benchmark calls `lines()` for a long stream. Variable parts are what real
services print: request and trace ids, user names, IPs and ports, paths with numeric
ids, durations, sizes and percentages; some parameters are words, which is harder for
Drain than numbers.
"""
import csv
import random
import sys
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
LABELLED = HERE / "labelled.csv"

USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj",
         "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yolanda"]
ROUTES = ["/api/v1/orders", "/api/v1/carts", "/api/v1/users", "/api/v2/payments", "/api/v1/products",
          "/api/v1/inventory", "/api/v1/shipping", "/api/v2/refunds"]
TABLES = ["orders", "order_items", "payments", "users", "carts", "inventory", "shipments", "refunds"]
QUEUES = ["order-events", "payment-events", "email-outbox", "audit-log"]
CARDS = ["visa", "mastercard", "amex", "discover"]
REGIONS = ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2"]


def _hex(r, n):
    return "".join(r.choice("0123456789abcdef") for _ in range(n))


def _ip(r):
    return f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"


def _fields(r: random.Random) -> dict:
    return {
        "rid": _hex(r, 16), "trace": _hex(r, 32), "uuid": str(uuid.UUID(int=r.getrandbits(128))),
        "user": r.choice(USERS), "uid": r.randint(1, 99999), "ip": _ip(r), "ip2": _ip(r),
        "port": r.randint(1024, 65535),
        "route": r.choice(ROUTES), "id": r.randint(1, 10**7), "ms": round(r.lognormvariate(3, 1), 1),
        "status": r.choice([200, 200, 200, 201, 204, 304]), "bytes": r.randint(100, 10**6),
        "table": r.choice(TABLES), "rows": r.randint(0, 5000), "pct": r.randint(1, 99),
        "n": r.randint(1, 500), "m": r.randint(1, 64), "queue": r.choice(QUEUES), "offset": r.randint(0, 10**9),
        "partition": r.randint(0, 11), "card": r.choice(CARDS), "amount": round(r.uniform(1, 900), 2),
        "region": r.choice(REGIONS), "pid": r.randint(100, 40000), "host": f"db-{r.randint(0, 5)}.internal",
        "sql": r.choice(["SELECT", "UPDATE", "INSERT", "DELETE"]),
    }


# (service, severity, weight, format). The template id of a line is its row here.
TEMPLATES = [
    ("frontend", "INFO", 40, "{ip}:{port} - GET {route}/{id} {status} {bytes} {ms}ms request_id={rid}"),
    ("frontend", "INFO", 25, "{ip}:{port} - POST {route} {status} {bytes} {ms}ms request_id={rid}"),
    ("frontend", "INFO", 6, "user {user} logged in from {ip} session={uuid}"),
    ("frontend", "INFO", 4, "user {user} logged out after {n} minutes"),
    ("frontend", "WARN", 2, "slow request {route}/{id} took {ms}ms (threshold 500ms) request_id={rid}"),
    ("frontend", "WARN", 1, "rate limit reached for client {ip}: {n} requests in 60s"),
    ("frontend", "ERROR", 1, "upstream checkout returned 503 for request_id={rid} after {ms}ms"),
    ("frontend", "INFO", 3, "static asset cache hit ratio {pct}% over last {n} requests"),
    ("checkout", "INFO", 20, "created order {id} for user {user} with {m} items total {amount} EUR"),
    ("checkout", "INFO", 15, "cart {uuid} updated: {m} items, trace_id={trace}"),
    ("checkout", "DEBUG", 10, "calling payments at {ip}:{port} for order {id} trace_id={trace}"),
    ("checkout", "INFO", 8, "order {id} confirmed in {ms} ms"),
    ("checkout", "WARN", 2, "retrying payment for order {id}, attempt {m} of 3"),
    ("checkout", "WARN", 2, "GC pause {ms} ms, heap at {pct}% of limit"),
    ("checkout", "ERROR", 1, "failed to reserve inventory for order {id}: item {uid} out of stock"),
    ("checkout", "INFO", 3, "published event to queue {queue} partition {partition} offset {offset}"),
    ("payments", "INFO", 15, "authorized {amount} EUR on {card} card for order {id} in {ms} ms"),
    ("payments", "INFO", 8, "captured payment {uuid} for order {id}"),
    ("payments", "WARN", 2, "card {card} declined for order {id}: insufficient funds"),
    ("payments", "ERROR", 1, "connection refused to {ip}:{port} while contacting acquirer in {region}"),
    ("payments", "INFO", 3, "refund {uuid} of {amount} EUR issued to user {user}"),
    ("payments", "DEBUG", 4, "fraud score {pct} for transaction {rid} from {ip}"),
    ("db", "INFO", 20, "{sql} on table {table} returned {rows} rows in {ms} ms"),
    ("db", "WARN", 3, "slow query on {table}: {ms} ms, {rows} rows scanned by pid {pid}"),
    ("db", "INFO", 4, "checkpoint complete: wrote {n} buffers ({pct}%) in {ms} s"),
    ("db", "INFO", 4, "connection received: host={ip} port={port} user={user}"),
    ("db", "INFO", 3, "disconnection: session time {ms} s user={user} host={ip}"),
    ("db", "WARN", 1, "connection pool at {m} of 64 connections, waited {ms} ms"),
    ("db", "ERROR", 1, "could not extend file base/{pid}/{uid}: No space left on device"),
    ("db", "INFO", 2, "autovacuum of table {table}: removed {rows} dead tuples in {ms} ms"),
    ("worker", "INFO", 10, "job {uuid} from queue {queue} done in {ms} ms"),
    ("worker", "INFO", 6, "consumed {n} messages from {queue} partition {partition} up to offset {offset}"),
    ("worker", "WARN", 2, "job {uuid} from queue {queue} retried {m} times"),
    ("worker", "ERROR", 1, "job {uuid} failed: timeout after {ms} ms talking to {host}:{port}"),
    ("worker", "INFO", 3, "sent email to user {uid} via relay {ip2}"),
    ("worker", "INFO", 2, "heartbeat from worker pid {pid} in {region}"),
]


def lines(count: int, seed: int = 1):
    """`count` (template index, service, severity, body) tuples drawn by template weight."""
    r = random.Random(seed)
    weights = [t[2] for t in TEMPLATES]
    chosen = r.choices(range(len(TEMPLATES)), weights=weights, k=count)
    for index in chosen:
        service, severity, _, text = TEMPLATES[index]
        yield index, service, severity, text.format(**_fields(r))


def write_labelled(path: Path = LABELLED, count: int = 4000, seed: int = 7) -> None:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["line", "template_id", "service", "severity", "body"])
        for n, (index, service, severity, body) in enumerate(lines(count, seed)):
            out.writerow([n, f"E{index + 1}", service, severity, body])


def read_labelled(path: Path = LABELLED) -> list[dict]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


if __name__ == "__main__":
    write_labelled(Path(sys.argv[1]) if len(sys.argv) > 1 else LABELLED)
    print(f"wrote {LABELLED if len(sys.argv) < 2 else sys.argv[1]}")
