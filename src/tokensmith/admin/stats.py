"""`/admin/v1/stats/tokens`: tokens issued and authentication failures per client over
the last hour, from this process's own counters (metrics.py), sampled every
SAMPLE_SECONDS. The console draws them (console/static/console.js).

A failure is counted under the client it authenticated as (a scope it may not ask
for); a caller that did not authenticate has no trustworthy client id, and is
counted under "" (shown as "unidentified")."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tokensmith import metrics
from tokensmith.admin.authorisation import STATS_READ, authorise
from tokensmith.admin.calls import json_response

PATH = "/admin/v1/stats/tokens"
SAMPLE_SECONDS = 15.0
WINDOW_SECONDS = 3600
Totals = dict[str, float]


def _totals(counter: Any, **wanted: str) -> Totals:
    """The counter's value per client_id, summed over its other labels."""
    totals: Totals = {}
    for family in counter.collect():
        for sample in family.samples:
            if not sample.name.endswith("_total") or any(sample.labels.get(k) != v for k, v in wanted.items()):
                continue
            client = sample.labels.get("client_id", "")
            totals[client] = totals.get(client, 0.0) + sample.value
    return totals


class TokenHistory:
    """Samples of the two counters; a point is what changed between two samples."""

    def __init__(self, sample_seconds: float = SAMPLE_SECONDS) -> None:
        self.sample_seconds = sample_seconds
        self._samples: deque[tuple[float, Totals, Totals]] = deque(maxlen=int(WINDOW_SECONDS / sample_seconds) + 2)

    @staticmethod
    def _read() -> tuple[float, Totals, Totals]:
        return time.time(), _totals(metrics.tokens_issued), _totals(metrics.tokens_refused, reason="invalid_client")

    def sample(self) -> None:
        self._samples.append(self._read())

    async def run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.sample_seconds)

    def points(self) -> list[dict[str, Any]]:
        """One point per sample interval, the last one up to this instant."""
        samples = [*self._samples, self._read()]
        points = []
        for (_, issued_before, failed_before), (at, issued, failed) in itertools.pairwise(samples):
            points.append({"at": int(at), "issued": _delta(issued_before, issued), "failures": _delta(failed_before, failed)})
        return points


def _delta(before: Totals, after: Totals) -> dict[str, int]:
    return {client: int(value - before.get(client, 0.0)) for client, value in after.items() if value != before.get(client, 0.0)}


async def token_stats(request: Request) -> Response:
    await authorise(request, STATS_READ)
    history: TokenHistory = request.app.state.token_history
    return json_response({"sample_seconds": history.sample_seconds, "window_seconds": WINDOW_SECONDS, "points": history.points()})
