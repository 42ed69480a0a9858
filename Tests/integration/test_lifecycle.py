"""Start and stop as one sequence: a SIGTERM at any moment ends in a graceful stop (exit 0)."""
import signal

from tallykit import Tallyd, http_get, wait_until


def test_sigterm_right_after_the_first_answer_is_a_graceful_stop():
    """The endpoints are bound before the service group runs; a SIGTERM in between must still
    drain and exit 0, never die by the signal's default action (that was -15 here once)."""
    for _ in range(5):
        d = Tallyd(services=["risk_manager"])
        d.launch()
        try:
            wait_until(lambda: http_get(d.services["risk_manager"], timeout=1)[0] == 200, timeout=20,
                       what="the first answer")
            d.proc.send_signal(signal.SIGTERM)
            assert d.proc.wait(timeout=15) == 0, d.output()
            assert "tallyd stopped" in d.output()
        finally:
            d.stop()
            d.dir.cleanup()

