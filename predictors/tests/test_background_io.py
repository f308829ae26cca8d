"""Grafana calls and state writes run off the consumer thread: a Grafana that answers after
10 s must not delay `Service.handle` (Kafka would drop a consumer that stops polling for 5 s),
and nothing handed to the background is lost: shutdown writes it."""
import threading
import time

from fake_grafana import FakeGrafana
from state_helpers import CONFIG, scenario

from foresight.feedback import FeedbackSettings
from foresight.runtime.background import Worker
from foresight.runtime.service import Service, Settings
from foresight_dev.devstack.processes import free_port

TOKEN = "sidecar-token"
SLOW = 10.0


class SlowGrafana(FakeGrafana):
    """Answers every annotation write after SLOW seconds."""

    began = None  # when the first write arrived (monotonic)

    def create(self, body, login):
        if self.began is None:
            self.began = time.monotonic()
        time.sleep(SLOW)
        return super().create(body, login)


def test_a_slow_grafana_does_not_delay_the_consumer_and_loses_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_GRAFANA_TOKEN", TOKEN)
    with SlowGrafana({TOKEN: "foresight"}) as grafana:
        feedback = FeedbackSettings.from_mapping({
            "grafana_url": grafana.url, "state_path": str(tmp_path / "feedback.json"),
            "token_env": "TEST_GRAFANA_TOKEN", "timeout": "30s"})  # long enough to get the slow answer
        svc = Service(CONFIG, Settings(listen=f"127.0.0.1:{free_port()}", feedback=feedback,
                                       state=str(tmp_path / "state.sqlite"), checkpoint_every=600,
                                       shutdown_timeout=120))  # every slow write must finish, however many
        slowest = 0.0
        for batch in scenario(300):  # the memory target reaches warning: its episode is annotated
            started = time.monotonic()
            svc.handle(batch)
            slowest = max(slowest, time.monotonic() - started)
        assert not grafana.annotations  # the first write is still waiting for its answer
        assert slowest < 2.0, f"handle took {slowest:.1f}s while Grafana was slow"
        svc.close()  # shutdown: every queued annotation and the last checkpoint are written
        # Not timed from close(): the first write began during the scenario, however long that took.
        assert grafana.began is not None and time.monotonic() >= grafana.began + SLOW
        written = list(grafana.annotations.values())
        assert written and all("foresight" in a["tags"] for a in written)
        assert (tmp_path / "feedback.json").exists() and svc.state.written >= 1


def test_a_worker_runs_everything_in_order_and_waits_when_full():
    seen, entered, release = [], threading.Event(), threading.Event()

    def run(batch):
        entered.set()
        release.wait()
        seen.extend(batch)

    worker = Worker("test", run, max_pending=1)
    worker.submit(0)
    assert entered.wait(5)  # the worker is busy with 0
    worker.submit(1)  # the queue is now full
    blocked = threading.Thread(target=worker.submit, args=(2,))
    blocked.start()
    blocked.join(0.3)
    assert blocked.is_alive()  # the producer waits: nothing is dropped
    release.set()
    blocked.join(5)
    for i in range(3, 10):
        worker.submit(i)
    assert worker.close(5)
    assert seen == list(range(10)) and worker.pending() == 0


def test_a_failing_batch_is_logged_and_the_worker_goes_on(caplog):
    done = []

    def run(batch):
        if 1 in batch:
            raise RuntimeError("boom")
        done.extend(batch)

    worker = Worker("test", run)
    worker.submit(1)
    worker.flush()
    worker.submit(2)
    assert worker.close(5)
    assert done == [2] and worker.failures == 1
    assert "boom" in caplog.text


def test_the_state_writer_takes_no_time_from_handle(tmp_path):
    """A state store that takes a second per write: handle does not wait for it."""
    svc = Service(CONFIG, Settings(listen=f"127.0.0.1:{free_port()}", state=str(tmp_path / "s.sqlite"),
                                   checkpoint_every=600))
    real_write = svc.state.store.write
    svc.state.store.write = lambda checkpoint: (time.sleep(1.0), real_write(checkpoint))
    slowest = 0.0
    for batch in scenario(130):
        started = time.monotonic()
        svc.handle(batch)
        slowest = max(slowest, time.monotonic() - started)
    assert slowest < 0.5
    svc.close()
    assert svc.state.written >= 1 and svc.state.failed == 0
