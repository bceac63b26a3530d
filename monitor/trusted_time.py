"""After a pass: the RFC 3161 time-stamps waiting in the queue (storage.evidence.tsa) are sent to
their time-stamping authorities, the pass's checkpoint among them once it is queued. Bounded like
the alerts' delivery (`[alerts] retry_for`, `timeout`): what a TSA does not answer waits for the
next pass, with its backoff."""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from monitor.config import Config

log = logging.getLogger(__name__)


def deliver_after_pass(engine: Engine, config: Config) -> dict | None:
    """Deliver the due time-stamps; the pass summary's `timestamps` (None: none asked for)."""
    from storage.evidence.tsa import deliver_timestamps, pending_count

    if not config.evidence.tsa and not pending_count(engine):
        return None
    delivery = deliver_timestamps(
        engine, timeout=config.alerts.timeout, retry_for=config.alerts.retry_for
    )
    if delivery.errors:
        log.warning("time-stamps: %s pending (%s)", delivery.pending, delivery.errors)
    return delivery.as_summary()
