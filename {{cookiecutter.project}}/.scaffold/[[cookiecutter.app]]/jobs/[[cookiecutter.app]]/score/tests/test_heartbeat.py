import logging
import threading

from score.heartbeat import heartbeat


class FirstBeat(logging.Handler):
    """Keeps the heartbeat lines and signals the first one."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = threading.Event()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        self.seen.set()


def test_logs_while_the_block_runs_from_a_daemon_thread_that_stops_after(caplog):
    caplog.set_level(logging.INFO, logger="score.heartbeat")
    beats = FirstBeat()
    logging.getLogger("score.heartbeat").addHandler(beats)
    try:
        with heartbeat(0.001):
            assert beats.seen.wait(timeout=30), "no heartbeat line while working"
            (thread,) = [t for t in threading.enumerate() if t.name == "heartbeat"]
            assert thread.daemon
        assert not thread.is_alive()
    finally:
        logging.getLogger("score.heartbeat").removeHandler(beats)
    assert beats.lines[0].startswith("still working (")
