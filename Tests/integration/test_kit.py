"""The test kit itself: ports never race."""
import socket

from tallykit import Tallyd, free_port, http_get


def test_ports_come_from_below_the_ephemeral_range():
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
    ports = [free_port() for _ in range(50)]
    assert all(p < low for p in ports), ports
    assert len(set(ports)) == len(ports), "a port was handed out twice"


def test_start_retries_on_fresh_ports_when_a_port_is_taken():
    """Another process holds the port the kit chose for one service: the first start fails with
    'address already in use', the kit picks fresh ports and the second start answers."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    taken = holder.getsockname()[1]
    picks = []

    class Unlucky(Tallyd):
        def _pick_ports(self):
            super()._pick_ports()
            picks.append(dict(self.services))
            if len(picks) == 1:
                self.services["risk_manager"] = taken
                self._write_config()

    try:
        with Unlucky(services=["risk_manager", "order_executor"]) as d:
            assert len(picks) == 2, picks
            assert d.services["risk_manager"] != taken
            assert http_get(d.services["risk_manager"])[0] == 200
            assert "address already in use" not in d.output()
    finally:
        holder.close()
