"""Notification figures for ``/metrics``, read from the outbox tables at scrape time.

Deliveries are made by worker processes that serve no HTTP, and any API
process may be scraped, so the figures come from the database (the one place
every process writes) rather than from counters in one process's memory. The
queries use the created_at and state indexes and are cached for a few seconds.

- ``voicebridge_notification_deliveries{channel,outcome}``: deliveries made in
  the last 24 hours by how they ended (sent, skipped, dead) or stand (pending, sending);
- ``voicebridge_notification_delivery_lag_seconds{channel}``: from due to sent, for
  deliveries sent in the last hour (a gauge histogram; quiet hours do not count);
- ``voicebridge_notification_dead_letters{channel,safety}``: deliveries that gave up;
- ``voicebridge_notification_oldest_due_seconds``: how long the oldest due delivery waits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from datetime import timedelta

from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from voicebridge import clock
from voicebridge.notifications.models import Delivery, DeliveryState

LAG_BUCKETS = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
CACHE_SECONDS = 5.0
LAG_SAMPLE = 20_000


class NotificationCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Metric]] | None = None

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            if self._cached is not None and time.monotonic() - self._cached[0] < CACHE_SECONDS:
                return list(self._cached[1])
            try:
                metrics = list(self._read())
            except Exception:  # noqa: BLE001 - a scrape must not fail because the database did
                metrics = []
            self._cached = (time.monotonic(), metrics)
            return list(metrics)

    def _read(self) -> Iterator[Metric]:
        now = clock.now()
        with Session(self.engine) as session:
            recent = session.exec(
                select(Delivery.channel, Delivery.state, func.count())
                .where(col(Delivery.created_at) >= now - timedelta(days=1))
                .group_by(col(Delivery.channel), col(Delivery.state))
            ).all()
            dead = session.exec(
                select(Delivery.channel, Delivery.safety, func.count())
                .where(Delivery.state == DeliveryState.dead)
                .group_by(col(Delivery.channel), col(Delivery.safety))
            ).all()
            lags = session.exec(
                select(Delivery.channel, Delivery.due_at, Delivery.sent_at)
                .where(
                    Delivery.state == DeliveryState.sent,
                    col(Delivery.created_at) >= now - timedelta(hours=1),
                )
                .limit(LAG_SAMPLE)
            ).all()
            oldest = session.exec(
                select(func.min(Delivery.due_at)).where(
                    col(Delivery.state).in_([DeliveryState.pending, DeliveryState.sending]),
                    col(Delivery.due_at) <= now,
                )
            ).one()
        deliveries = GaugeMetricFamily(
            "voicebridge_notification_deliveries",
            "Notification deliveries made in the last 24 hours, by channel and outcome",
            labels=["channel", "outcome"],
        )
        for channel, state, count in recent:
            deliveries.add_metric([str(channel), str(state)], count)
        yield deliveries
        dead_letters = GaugeMetricFamily(
            "voicebridge_notification_dead_letters",
            "Notification deliveries that gave up, by channel and whether a safety alert",
            labels=["channel", "safety"],
        )
        for channel, safety, count in dead:
            dead_letters.add_metric([str(channel), str(bool(safety)).lower()], count)
        yield dead_letters
        yield _lag_histogram(lags)
        waiting = GaugeMetricFamily(
            "voicebridge_notification_oldest_due_seconds",
            "Seconds the oldest due, unsent notification delivery has waited",
        )
        waiting.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        yield waiting


def _lag_histogram(rows: Iterable[tuple[object, object, object]]) -> Metric:
    by_channel: dict[str, list[float]] = {}
    for channel, due_at, sent_at in rows:
        if due_at is None or sent_at is None:
            continue
        lag = max(0.0, (sent_at - due_at).total_seconds())  # type: ignore[operator]
        by_channel.setdefault(str(getattr(channel, "value", channel)), []).append(lag)
    family = GaugeHistogramMetricFamily(
        "voicebridge_notification_delivery_lag_seconds",
        "Seconds from a delivery being due to it being sent, last hour",
        labels=["channel"],
    )
    for channel, lags in sorted(by_channel.items()):
        buckets = [(str(b), sum(1 for x in lags if x <= b)) for b in LAG_BUCKETS]
        buckets.append(("+Inf", len(lags)))
        family.add_metric([channel], buckets, gsum_value=sum(lags))
    return family
