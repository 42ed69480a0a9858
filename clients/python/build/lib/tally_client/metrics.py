"""The seed's helper API (`shared/prometheus_metrics.py`), sending to tallyd instead of keeping
an in-process registry. Names and signatures are the seed's; helpers the seed's families need
but the seed does not name follow its style (`record_*` for events, `update_*`/`set_*` for
levels, `track_*` for decorators).

Identity: families with a `service_name` label take it from the helper's first argument; the
others carry `service:` from `configure(service=...)` or `TALLY_SERVICE` (else tallyd's
`default_service` decides).
"""
from __future__ import annotations

import asyncio
import functools
import threading
import time
from typing import Any, Callable, Optional, TypeVar, cast

from ._client import Client, format_line

F = TypeVar("F", bound=Callable[..., Any])

_lock = threading.Lock()
_default: Optional[Client] = None


def configure(addr: Optional[str] = None, service: Optional[str] = None) -> Client:
    """Replaces the client every helper uses: `addr` as TALLY_ADDR (`host:port`, `unix:/path`,
    `tcp:host:port`), `service` as TALLY_SERVICE."""
    global _default
    with _lock:
        if _default is not None:
            _default.close()
        _default = Client(addr, service)
        return _default


def client() -> Client:
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                _default = Client()
    return _default


def stats() -> dict:
    """What the client sent and dropped: {'lines', 'datagrams', 'dropped_datagrams', ...}."""
    return client().stats()


def flush() -> None:
    client().flush()


def _send(name: str, value: float, kind: str, service_name: Optional[str] = None, **labels: Any) -> None:
    c = client()
    tags = []
    if service_name is not None:
        tags.append(("service_name", service_name))
    elif c.service:
        tags.append(("service", c.service))
    tags.extend(labels.items())
    c.send_line(format_line(name, value, kind, tags))


def _error_type(exc: BaseException) -> str:
    return type(exc).__name__


def _decorate(before: Callable[[], Any], after: Callable[[Any, float, Optional[BaseException]], None]) -> Callable[[F], F]:
    """A decorator for sync and async functions: `after(result, seconds, exception)` runs once
    the call ends; the caller's exception is re-raised untouched."""

    def wrap(fn: F) -> F:
        if asyncio.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                before()
                start = time.perf_counter()
                try:
                    result = await fn(*args, **kwargs)
                except BaseException as exc:
                    _safely(after, None, time.perf_counter() - start, exc)
                    raise
                _safely(after, result, time.perf_counter() - start, None)
                return result
            return cast(F, run_async)

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            before()
            start = time.perf_counter()
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                _safely(after, None, time.perf_counter() - start, exc)
                raise
            _safely(after, result, time.perf_counter() - start, None)
            return result
        return cast(F, run)
    return wrap


def _safely(after: Callable[[Any, float, Optional[BaseException]], None], result: Any, seconds: float,
            exc: Optional[BaseException]) -> None:
    try:
        after(result, seconds, exc)
    except Exception:  # noqa: BLE001 - metrics never raise into the caller
        pass


# --- service health ---------------------------------------------------------------------------

def mark_service_up(service_name: str) -> None:
    """service_up{service_name} = 1 (tallyd sets service_start_time at the transition)."""
    _send("service_up", 1, "g", service_name)


def mark_service_down(service_name: str) -> None:
    """service_up{service_name} = 0, held until mark_service_up."""
    _send("service_up", 0, "g", service_name)


def set_service_info(service_name: str, version: str, environment: str) -> None:
    _send("service_info", 1, "g", service_name, version=version, environment=environment)


# --- HTTP -------------------------------------------------------------------------------------

def record_http_request(method: str, path: str, status: int, duration_seconds: float,
                        request_size: Optional[int] = None, response_size: Optional[int] = None) -> None:
    _send("http_requests_total", 1, "c", method=method, path=path, status=status)
    _send("http_request_duration_seconds", duration_seconds, "h", method=method, path=path)
    if request_size is not None:
        _send("http_request_size_bytes", request_size, "h", method=method, path=path)
    if response_size is not None:
        _send("http_response_size_bytes", response_size, "h", method=method, path=path)


# --- database ---------------------------------------------------------------------------------

def set_db_connections(service_name: str, count: int) -> None:
    _send("db_connections_total", count, "g", service_name)


def record_db_query(service_name: str, query_type: str, duration_seconds: float,
                    error_type: Optional[str] = None) -> None:
    _send("db_query_duration_seconds", duration_seconds, "h", service_name, query_type=query_type)
    if error_type is not None:
        _send("db_query_errors_total", 1, "c", service_name, error_type=error_type)


def track_db_query(service_name: str, query_type: str) -> Callable[[F], F]:
    """Decorator: the call's duration in db_query_duration_seconds{query_type}; an exception is
    counted in db_query_errors_total{error_type=<exception class>} and re-raised."""
    return _decorate(lambda: None, lambda _r, s, e: record_db_query(
        service_name, query_type, s, _error_type(e) if e is not None else None))


# --- RabbitMQ ---------------------------------------------------------------------------------

def record_message_published(service_name: str, exchange: str) -> None:
    _send("rabbitmq_messages_published_total", 1, "c", service_name, exchange=exchange)


def record_message_consumed(service_name: str, queue: str) -> None:
    _send("rabbitmq_messages_consumed_total", 1, "c", service_name, queue=queue)


def track_message_processing(service_name: str) -> Callable[[F], F]:
    """Decorator: the handler's duration in rabbitmq_message_processing_duration_seconds."""
    return _decorate(lambda: None, lambda _r, s, _e: _send(
        "rabbitmq_message_processing_duration_seconds", s, "h", service_name))


# --- Redis ------------------------------------------------------------------------------------

def record_cache_hit(service_name: str, operation: str = "get") -> None:
    _send("redis_cache_hits_total", 1, "c", service_name, operation=operation)


def record_cache_miss(service_name: str, operation: str = "get") -> None:
    _send("redis_cache_misses_total", 1, "c", service_name, operation=operation)


def track_cache_operation(service_name: str, operation: str = "get") -> Callable[[F], F]:
    """Decorator: the call's duration in redis_operations_duration_seconds{operation}, and a
    hit (a result other than None) or a miss (None)."""
    def after(result: Any, seconds: float, exc: Optional[BaseException]) -> None:
        _send("redis_operations_duration_seconds", seconds, "h", service_name, operation=operation)
        if exc is None:
            (record_cache_miss if result is None else record_cache_hit)(service_name, operation)
    return _decorate(lambda: None, after)


# --- data collection --------------------------------------------------------------------------

def update_collector_health(collector_name: str, source: str, is_healthy: bool) -> None:
    _send("data_collector_health", 1 if is_healthy else 0, "g", collector_name=collector_name, source=source)


def record_data_points(collector_name: str, source: str, data_type: str, count: int) -> None:
    _send("data_points_collected_total", count, "c", collector_name=collector_name, source=source,
          data_type=data_type)


def record_collection_error(collector_name: str, source: str, error_type: str) -> None:
    _send("data_collection_errors_total", 1, "c", collector_name=collector_name, source=source,
          error_type=error_type)


def track_data_collection(collector_name: str, source: str) -> Callable[[F], F]:
    """Decorator: duration in data_collection_duration_seconds; success sets the collector
    healthy and its last-success timestamp; an exception sets it unhealthy, is counted in
    data_collection_errors_total{error_type} and re-raised."""
    def after(_result: Any, seconds: float, exc: Optional[BaseException]) -> None:
        _send("data_collection_duration_seconds", seconds, "h", collector_name=collector_name, source=source)
        if exc is None:
            update_collector_health(collector_name, source, True)
            _send("data_collector_last_success_timestamp", time.time(), "g", collector_name=collector_name,
                  source=source)
        else:
            update_collector_health(collector_name, source, False)
            record_collection_error(collector_name, source, _error_type(exc))
    return _decorate(lambda: None, after)


# --- trading ----------------------------------------------------------------------------------

def record_signal(strategy_id: str, symbol: str, signal_type: str) -> None:
    _send("strategy_signals_total", 1, "c", strategy_id=strategy_id, symbol=symbol, signal_type=signal_type)


def record_order_placed(order_type: str, symbol: str, side: str) -> None:
    _send("orders_placed_total", 1, "c", order_type=order_type, symbol=symbol, side=side)


def record_order_filled(order_type: str, symbol: str) -> None:
    _send("orders_filled_total", 1, "c", order_type=order_type, symbol=symbol)


def record_order_cancelled(symbol: str, reason: str) -> None:
    _send("orders_cancelled_total", 1, "c", symbol=symbol, reason=reason)


def record_order_execution(order_type: str, duration_seconds: float) -> None:
    _send("order_execution_duration_seconds", duration_seconds, "h", order_type=order_type)


def track_order_execution(order_type: str) -> Callable[[F], F]:
    """Decorator: the call's duration in order_execution_duration_seconds{order_type}."""
    return _decorate(lambda: None, lambda _r, s, _e: record_order_execution(order_type, s))


def set_active_positions(strategy_id: str, count: int) -> None:
    _send("active_positions_count", count, "g", strategy_id=strategy_id)


def update_position_pnl(position_id: str, symbol: str, pnl_usd: float) -> None:
    _send("position_pnl_usd", pnl_usd, "g", position_id=position_id, symbol=symbol)


def update_portfolio_value(user_id: str, value_usd: float) -> None:
    _send("portfolio_value_usd", value_usd, "g", user_id=user_id)


# --- goals ------------------------------------------------------------------------------------

def update_goal_metrics(goal_id: str, goal_type: str, user_id: str, current_value: float, target_value: float,
                        progress_percentage: float) -> None:
    labels = {"goal_id": goal_id, "goal_type": goal_type, "user_id": user_id}
    _send("goal_current_value", current_value, "g", **labels)
    _send("goal_target_value", target_value, "g", **labels)
    _send("goal_progress_percentage", progress_percentage, "g", **labels)


def record_goal_achievement(goal_type: str, user_id: str) -> None:
    _send("goals_achieved_total", 1, "c", goal_type=goal_type, user_id=user_id)


# --- risk -------------------------------------------------------------------------------------

def record_risk_limit_breach(user_id: str, limit_type: str) -> None:
    _send("risk_limit_breaches_total", 1, "c", user_id=user_id, limit_type=limit_type)


def update_risk_exposure(user_id: str, risk_type: str, value: float) -> None:
    _send("current_risk_exposure", value, "g", user_id=user_id, risk_type=risk_type)


def update_drawdown(user_id: str, percentage: float) -> None:
    _send("drawdown_percentage", percentage, "g", user_id=user_id)


# --- ML ---------------------------------------------------------------------------------------

def update_model_metrics(model_name: str, model_version: str, accuracy: Optional[float] = None,
                         drift_score: Optional[float] = None) -> None:
    if accuracy is not None:
        _send("ml_model_accuracy", accuracy, "g", model_name=model_name, model_version=model_version)
    if drift_score is not None:
        _send("ml_model_drift_score", drift_score, "g", model_name=model_name, model_version=model_version)


def record_model_prediction(model_name: str, model_version: str, duration_seconds: Optional[float] = None) -> None:
    _send("ml_model_predictions_total", 1, "c", model_name=model_name, model_version=model_version)
    if duration_seconds is not None:
        _send("ml_model_prediction_duration_seconds", duration_seconds, "h", model_name=model_name)


def record_model_training(model_name: str, duration_seconds: float) -> None:
    _send("ml_model_training_duration_seconds", duration_seconds, "h", model_name=model_name)


# --- alerts -----------------------------------------------------------------------------------

def record_alert_metrics(alert_type: str, priority: str, channel: str, success: bool, duration_seconds: float,
                         error_type: str = "unknown") -> None:
    """One alert: triggered, delivered (or failed with error_type) on channel, in duration_seconds."""
    _send("alerts_triggered_total", 1, "c", alert_type=alert_type, priority=priority)
    if success:
        _send("alert_delivery_success_total", 1, "c", channel=channel, alert_type=alert_type)
    else:
        _send("alert_delivery_failures_total", 1, "c", channel=channel, alert_type=alert_type, error_type=error_type)
    _send("alert_delivery_duration_seconds", duration_seconds, "h", channel=channel)


__all__ = [
    "configure", "client", "stats", "flush",
    "mark_service_up", "mark_service_down", "set_service_info",
    "record_http_request",
    "set_db_connections", "record_db_query", "track_db_query",
    "record_message_published", "record_message_consumed", "track_message_processing",
    "record_cache_hit", "record_cache_miss", "track_cache_operation",
    "update_collector_health", "record_data_points", "record_collection_error", "track_data_collection",
    "record_signal", "record_order_placed", "record_order_filled", "record_order_cancelled",
    "record_order_execution", "track_order_execution", "set_active_positions", "update_position_pnl",
    "update_portfolio_value",
    "update_goal_metrics", "record_goal_achievement",
    "record_risk_limit_breach", "update_risk_exposure", "update_drawdown",
    "update_model_metrics", "record_model_prediction", "record_model_training",
    "record_alert_metrics",
]
