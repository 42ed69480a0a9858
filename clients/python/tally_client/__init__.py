"""tally_client: the trading platform's metrics, sent to tallyd.

    from tally_client import mark_service_up, track_db_query
    mark_service_up("strategy_service")

Standard library only. Every helper returns at once and never raises; lines are buffered into
datagrams and sent to TALLY_ADDR (default 127.0.0.1:8125) at most 100 ms later.
"""
from . import metrics as _metrics
from ._client import Client, format_line, parse_addr
from ._version import __version__
from .metrics import *  # noqa: F401,F403

__all__ = ["__version__", "Client", "format_line", "parse_addr", *_metrics.__all__]
