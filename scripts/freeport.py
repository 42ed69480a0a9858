"""free_port: the one way this repository's tests and benchmark scripts pick a loopback port.

Standard library only, so the scripts (run with the system's python3) and the test kit (run in
.build/venv) share it: `from freeport import free_port`, with scripts/ on sys.path.
"""
import os
import random
import socket
import time

# Test ports come from below the kernel's ephemeral range (net.ipv4.ip_local_port_range,
# 32768-60999 on Debian): every outgoing connection on the machine, the tests' own HTTP
# clients included, takes its local port from that range, so a port picked there and released
# can be taken by a client before tallyd binds it. Below it only listeners that ask for a port
# by number can collide, and `Tallyd.start` retries those collisions on fresh ports.
_PORT_LOW, _PORT_HIGH = 20000, 32000
_rng = random.Random(os.getpid() ^ int(time.time() * 1000))
_handed_out = set()


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(kind=socket.SOCK_STREAM):
    """A port free for both TCP and UDP on 127.0.0.1 right now, outside the ephemeral range,
    never handed out twice by this process."""
    high = min(_PORT_HIGH, _ephemeral_low() - 1)
    for _ in range(200):
        port = _rng.randint(_PORT_LOW, high)
        if port in _handed_out:
            continue
        ok = True
        for k in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, k)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                ok = False
            finally:
                s.close()
            if not ok:
                break
        if ok:
            _handed_out.add(port)
            return port
    raise RuntimeError("no free port found below the ephemeral range")
