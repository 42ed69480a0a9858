"""Bounded against hostile clients, on the real daemon: thousands of idle HTTP connections, a
slowloris client and a 1 MiB header while a normal scrape keeps answering; thousands of TCP
ingest connections past ingest.tcp_max_connections while the accepted ones keep counting."""
import resource
import socket
import threading
import time

from tallykit import Tallyd, http_get, wait_until

ORDER = "orders_placed_total:1|c|#service:order_executor,order_type:limit,symbol:S{i},side:buy\n"


def enough_descriptors(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n), hard))
    return min(hard, n) >= n


def test_idle_floods_slowloris_and_huge_headers_never_lock_out_a_scrape():
    assert enough_descriptors(2600)
    with Tallyd(services=["order_executor"]) as d:
        port = d.services["order_executor"]
        stop = threading.Event()
        slow = socket.create_connection(("127.0.0.1", port), timeout=5)

        def slowloris():
            slow.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            while not stop.is_set():
                try:
                    slow.sendall(b"X-A: b\r\n")
                except OSError:
                    return  # closed by tallyd: what should happen
                time.sleep(0.5)
        t = threading.Thread(target=slowloris)
        t.start()
        idle = []
        try:
            for _ in range(2000):
                idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
            started = time.monotonic()
            status, _, body = http_get(port, timeout=5)
            elapsed = time.monotonic() - started
            assert status == 200 and "service_up" in body
            assert elapsed < 1.0, elapsed
            # 2,000 idle connections against a limit of 64: room was made by closing idle ones.
            assert d.admin_value("tally_http_refused_total", endpoint="order_executor",
                                 reason="idle_closed_for_new") >= 1900
            fds = d.admin_value("process_open_fds")
            assert fds < 300, fds
            evicted = d.admin_value("tally_http_refused_total", endpoint="order_executor", reason="idle_closed_for_new")
            print(f"2000 idle connections + slowloris: scrape answered in {elapsed * 1000:.0f} ms, "
                  f"{evicted:.0f} idle connections closed for new ones, {fds:.0f} fds open")

            # Headers of 1 MiB: 431 once 8 KiB arrived, and the connection closes.
            big = socket.create_connection(("127.0.0.1", port), timeout=5)
            try:
                big.sendall(b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * (1 << 20))
            except OSError:
                pass  # tallyd answered and closed while we were still sending
            reply = b""
            try:
                while chunk := big.recv(4096):
                    reply += chunk
            except OSError:
                pass
            big.close()
            assert reply.startswith(b"HTTP/1.1 431 "), reply[:100]

            # The slowloris client never finishes its request: closed 10 s after it started.
            assert wait_until(lambda: d.admin_value("tally_http_refused_total", endpoint="order_executor",
                                                    reason="request_timeout") >= 1, timeout=20, what="slowloris closed")
            t.join(timeout=5)
            assert not t.is_alive()
            assert http_get(port, timeout=5)[0] == 200
        finally:
            stop.set()
            t.join(timeout=5)
            slow.close()
            for s in idle:
                s.close()


def test_tcp_ingest_connections_past_the_limit_are_refused_and_counted():
    assert enough_descriptors(5600)
    with Tallyd(services=["order_executor"]) as d:
        conns = []
        try:
            for i in range(5000):
                s = socket.create_connection(("127.0.0.1", d.tcp_port), timeout=5)
                try:
                    s.sendall(ORDER.format(i=i % 50).encode())
                except OSError:
                    pass  # refused and closed already
                conns.append(s)
            wait_until(lambda: d.admin_value("tally_tcp_connections_refused_total")
                       + d.admin_value("tally_tcp_connections_open") >= 5000, timeout=30, what="every connection seen")
            refused = d.admin_value("tally_tcp_connections_refused_total")
            assert d.admin_value("tally_tcp_connections_open") == 1024
            assert refused == 5000 - 1024
            # Every line on an accepted connection is counted, none is lost.
            d.wait_received(1024, transport="tcp", timeout=20)
            assert d.received("tcp") == 1024
            fds = d.admin_value("process_open_fds")
            assert fds < d.admin_value("process_max_fds") and fds < 1024 + 100, fds
            print(f"5000 TCP ingest connections: {refused:.0f} refused, 1024 accepted, {d.received('tcp'):.0f} lines "
                  f"counted, {fds:.0f} fds open of {d.admin_value('process_max_fds'):.0f}")
        finally:
            for s in conns:
                s.close()
        wait_until(lambda: d.admin_value("tally_tcp_connections_open") == 0, timeout=20, what="connections closed")


def _raw_request(port, headers):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
        reply = b""
        try:
            while b"\r\n\r\n" not in reply and (chunk := s.recv(65536)):
                reply += chunk
        except OSError:
            pass
        return reply.split(b"\r\n", 1)[0]
    finally:
        s.close()


def test_the_header_limit_is_8_kib_whether_the_headers_come_in_one_read_or_many():
    """The request line and headers up to 8192 bytes in all are served; one byte more is 431,
    sent in one write (one read for tallyd) or as 110 small headers (it let 14 KB through)."""
    with Tallyd(services=["order_executor"]) as d:
        port = d.services["order_executor"]
        head = b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
        fill = 8192 - len(head) - len(b"X-Big: \r\n\r\n")
        assert _raw_request(port, b"X-Big: " + b"a" * fill + b"\r\n") == b"HTTP/1.1 200 OK"
        assert _raw_request(port, b"X-Big: " + b"a" * (fill + 1) + b"\r\n").startswith(b"HTTP/1.1 431 ")
        assert _raw_request(port, b"X-Big: " + b"a" * 9000 + b"\r\n").startswith(b"HTTP/1.1 431 ")
        many = b"".join(b"X-H%03d: %s\r\n" % (i, b"v" * 100) for i in range(110))
        assert len(many) > 12000
        assert _raw_request(port, many).startswith(b"HTTP/1.1 431 ")
        assert d.admin_value("tally_http_refused_total", endpoint="order_executor", reason="headers_too_large") == 3
