"""Reading the Kafka topics in step while the sidecar works through a backlog.

A fetch brings up to 1 MB per partition: hours of small log and span messages against
minutes of big metric messages. Read as they come, the logs would run hours ahead of the
metrics and carry the stream's event time with them: metric series would look idle and be
evicted, and their predictions dropped as stale. So messages are handed on in order of the
event time they begin at, across topics, and a message that begins more than `ahead`
seconds past where another topic has got to waits while that topic is still delivering.
A topic that has delivered nothing for `idle_after` seconds (caught up, or gone) holds no
other back, and past `max_held_bytes` the oldest held messages go on anyway, so memory
stays bounded whatever the backlog. Within a topic the order never changes.

(kafka-python's own pause() can strand a partition's already-fetched records, so messages
are held here; the service commits offsets only while none are held.)
"""
import math
from collections import deque


def begins_at(decoded) -> float:
    """Event time of a decoded message's first point; -inf for one without points."""
    return min((p.timestamp for p in decoded.points), default=-math.inf)


class TopicPacer:
    def __init__(self, ahead: float = 600.0, idle_after: float = 5.0, max_held_bytes: int = 32 << 20,
                 keep_decoded_bytes: int = 8 << 20):
        self.ahead, self.idle_after, self.max_held_bytes = ahead, idle_after, max_held_bytes
        self.keep_decoded_bytes = keep_decoded_bytes
        self.queues: dict[str, deque] = {}  # signal -> [payload, begins, decoded, where], oldest first
        self.delivered: dict[str, float] = {}  # signal -> wall time (monotonic) of its last message
        self.held_bytes = 0

    def expect(self, signals, now: float):
        """Topics that will deliver (the consumer's): until each has, or `idle_after` has
        passed, the others wait for it, so a first poll of one topic cannot run ahead."""
        for signal in signals:
            self.delivered.setdefault(signal, now)

    @property
    def holding(self) -> bool:
        return any(self.queues.values())

    def add(self, signal: str, payload: bytes, decoded, now: float, where: tuple = ()):
        """`where`: (partition, offset) of a Kafka message, () otherwise."""
        begins = begins_at(decoded)
        if begins > -math.inf:  # a topic sending nothing usable holds no other back
            self.delivered[signal] = now
        self.queues.setdefault(signal, deque()).append([payload, begins, decoded, tuple(where)])
        self.held_bytes += len(payload)

    def next(self, stream_time: dict, now: float):
        """(signal, payload, decoded or None, where) of the message to hand on now, or None to wait."""
        heads = [(queue[0][1], signal) for signal, queue in self.queues.items() if queue]
        if not heads:
            return None
        begins, signal = min(heads)
        behind = [s for s, at in self.delivered.items()
                  if not self.queues.get(s) and now - at <= self.idle_after
                  and stream_time.get(s, -math.inf) + self.ahead < begins]
        if behind and self.held_bytes <= self.max_held_bytes:
            return None
        payload, _, decoded, where = self.queues[signal].popleft()
        self.held_bytes -= len(payload)
        return signal, payload, decoded, where

    def discard(self, partitions: set) -> int:
        """Drop held messages of these partitions (handed to another replica, which reads
        them again); returns how many."""
        dropped = 0
        for queue in self.queues.values():
            kept = [entry for entry in queue if not (entry[3] and entry[3][0] in partitions)]
            dropped += len(queue) - len(kept)
            self.held_bytes -= sum(len(entry[0]) for entry in queue if entry[3] and entry[3][0] in partitions)
            queue.clear()
            queue.extend(kept)
        return dropped

    def shed(self):
        """Of what stays held, keep the first `keep_decoded_bytes` of messages decoded and only
        the payloads of the rest (a decoded message takes several times its payload's memory)."""
        kept = 0
        for queue in self.queues.values():
            for entry in queue:
                kept += len(entry[0])
                if kept > self.keep_decoded_bytes:
                    entry[2] = None
