"""The sender: DogStatsD lines to TALLY_ADDR, buffered into datagrams, never raising, never blocking."""
from __future__ import annotations

import atexit
import os
import socket
import threading
import time
from typing import Dict, Iterable, Optional, Tuple

DEFAULT_ADDR = "127.0.0.1:8125"
UDP_DATAGRAM = 1432  # fits one Ethernet frame with IP/UDP headers
UNIX_DATAGRAM = 8192
FLUSH_INTERVAL = 0.1


def parse_addr(text: str) -> Tuple[str, object]:
    """TALLY_ADDR as the `tally` CLI reads it: host:port (UDP), unix:/path, tcp:host:port."""
    if text.startswith("unix:"):
        path = text[5:]
        if not path:
            raise ValueError("unix: needs a path (unix:/run/tally/ingest.sock)")
        return "unix", path
    kind = "udp"
    if text.startswith("tcp:"):
        kind, text = "tcp", text[4:]
    elif text.startswith("udp:"):
        text = text[4:]
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{text!r}: expected host:port, unix:/path or tcp:host:port")
    return kind, (host, int(port))


class Client:
    """One socket and one buffer. Lines are joined into datagrams up to the transport's size and
    sent when the next line would not fit, at most every 100 ms, and at exit. A send that would
    block (a full socket buffer, or no tallyd on a Unix socket) drops the datagram and counts it:
    metrics must never slow down or break the service that sends them."""

    def __init__(self, addr: Optional[str] = None, service: Optional[str] = None):
        self.service = service if service is not None else (os.environ.get("TALLY_SERVICE") or None)
        self._lock = threading.Lock()
        self._buffer: list = []
        self._size = 0
        self._first = 0.0
        self._stats: Dict[str, int] = {"lines": 0, "datagrams": 0, "dropped_datagrams": 0, "dropped_lines": 0,
                                       "errors": 0}
        self._sock: Optional[socket.socket] = None
        try:
            self.kind, self.target = parse_addr(addr or os.environ.get("TALLY_ADDR") or DEFAULT_ADDR)
        except ValueError:
            self._stats["errors"] += 1
            self.kind, self.target = parse_addr(DEFAULT_ADDR)
        self.max_size = UNIX_DATAGRAM if self.kind == "unix" else UDP_DATAGRAM
        self._timer: Optional[threading.Thread] = None
        self._closed = False
        atexit.register(self.flush)

    # sending
    def send_line(self, line: str) -> None:
        """Buffers one line; never raises."""
        try:
            data = line.encode("utf-8")
            with self._lock:
                self._stats["lines"] += 1
                if self._buffer and self._size + 1 + len(data) > self.max_size:
                    self._flush_locked()
                if not self._buffer:
                    self._first = time.monotonic()
                self._buffer.append(data)
                self._size += len(data) + (1 if len(self._buffer) > 1 else 0)
                if self._size >= self.max_size or time.monotonic() - self._first >= FLUSH_INTERVAL:
                    self._flush_locked()
            self._ensure_timer()
        except Exception:  # noqa: BLE001 - metrics never raise into the caller
            self._stats["errors"] += 1

    def flush(self) -> None:
        try:
            with self._lock:
                self._flush_locked()
        except Exception:  # noqa: BLE001
            self._stats["errors"] += 1

    def stats(self) -> Dict[str, int]:
        """Lines buffered, datagrams sent, datagrams and lines dropped (socket full or no tallyd)."""
        with self._lock:
            return dict(self._stats)

    def close(self) -> None:
        self.flush()
        self._closed = True
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    # internals
    def _socket(self) -> socket.socket:
        if self._sock is None:
            family = socket.AF_UNIX if self.kind == "unix" else socket.AF_INET
            if self.kind != "unix" and ":" in self.target[0]:
                family = socket.AF_INET6
            kind = socket.SOCK_STREAM if self.kind == "tcp" else socket.SOCK_DGRAM
            s = socket.socket(family, kind)
            s.setblocking(False)
            if self.kind == "tcp":
                try:
                    s.connect(self.target)
                except BlockingIOError:
                    pass
            self._sock = s
        return self._sock

    def _flush_locked(self) -> None:
        if not self._buffer:
            return
        lines = len(self._buffer)
        payload = b"\n".join(self._buffer)
        self._buffer = []
        self._size = 0
        try:
            s = self._socket()
            if self.kind == "tcp":
                s.send(payload + b"\n")
            else:
                s.sendto(payload, self.target)
            self._stats["datagrams"] += 1
        except OSError:
            # BlockingIOError (buffer full), ConnectionRefused/FileNotFound (no tallyd): drop.
            self._stats["dropped_datagrams"] += 1
            self._stats["dropped_lines"] += lines
            if self.kind == "tcp" and self._sock is not None:
                self._sock.close()
                self._sock = None

    def _ensure_timer(self) -> None:
        if self._timer is not None or self._closed:
            return

        def tick() -> None:
            while not self._closed:
                time.sleep(FLUSH_INTERVAL)
                with self._lock:
                    if self._buffer and time.monotonic() - self._first >= FLUSH_INTERVAL:
                        self._flush_locked()

        self._timer = threading.Thread(target=tick, name="tally-client-flush", daemon=True)
        self._timer.start()


def _value(v: float) -> str:
    return repr(float(v)) if isinstance(v, float) else str(v)


def format_line(name: str, value: float, kind: str, tags: Iterable[Tuple[str, object]],
                sample_rate: Optional[float] = None) -> str:
    """`name:value|kind[|@rate]|#k:v,...`; commas, pipes and newlines in values become `_`."""
    line = f"{name}:{_value(value)}|{kind}"
    if sample_rate is not None and sample_rate != 1:
        line += f"|@{sample_rate}"
    parts = []
    for key, v in tags:
        text = str(v)
        for bad in (",", "|", "\n", "\r"):
            text = text.replace(bad, "_")
        parts.append(f"{key}:{text}")
    if parts:
        line += "|#" + ",".join(parts)
    return line
