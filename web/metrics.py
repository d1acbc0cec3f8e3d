"""Prometheus metrics: requests and their latency, by operationId, method and status."""

from __future__ import annotations

import typing as t

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

UNROUTED = "none"  # 404s, the UI, the spec document: nothing the spec names
# Methods counted under their own name; any other token a client sends (HTTP allows any) is
# counted as "other", so clients cannot add series without bound.
METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
OTHER_METHOD = "other"


class Metrics:
    """One app's metrics, in a registry of its own; or every worker's, from a shared directory."""

    def __init__(self, multiprocess_dir: str | None = None) -> None:
        """`multiprocess_dir`: PROMETHEUS_MULTIPROC_DIR, set under gunicorn (see Settings)."""
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "http_requests",
            "Requests answered.",
            ["operation", "method", "status"],
            registry=self.registry,
        )
        self._duration = Histogram(
            "http_request_duration_seconds",
            "Time to answer a request.",
            ["operation"],
            registry=self.registry,
        )
        # The labelled series, looked up once each (prometheus_client's labels() takes a lock
        # and validates the labels on every call).
        self._series: dict[tuple[str | None, str, int], tuple[t.Any, t.Any]] = {}
        self._exposed = self.registry
        if multiprocess_dir:
            # prometheus_client saw PROMETHEUS_MULTIPROC_DIR when imported, so the series above
            # record into this process's files there; every process's files, a worker that has
            # exited included, add up to the exposition (counters and histograms are summed).
            self._exposed = CollectorRegistry()
            MultiProcessCollector(self._exposed, path=multiprocess_dir)  # type: ignore[no-untyped-call]

    def observe(self, operation: str | None, method: str, status: int, seconds: float) -> None:
        """Count one answered request; `operation` is connexion's `<controller>.<operationId>`."""
        if method not in METHODS:
            method = OTHER_METHOD
        key = (operation, method, status)
        series = self._series.get(key)
        if series is None:
            label = operation.rpartition(".")[2] if operation else UNROUTED
            series = (
                self._requests.labels(label, method, str(status)),
                self._duration.labels(label),
            )
            self._series[key] = series
        series[0].inc()
        series[1].observe(seconds)

    def exposition(self) -> str:
        """The Prometheus text format."""
        return generate_latest(self._exposed).decode("utf-8")
