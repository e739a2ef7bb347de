"""Throttling counters in Redis, shared by every node.

Failed authentications: one Lua script call per failure counts it against both keys
(address; address + client id) and, when a key passes its limit, blocks it, all
atomically, so two nodes crossing the limit at once block once. The block lengths
come from the domain policy (passed in as a table), so the arithmetic is not
duplicated in Lua. Redis key layout, below the configured prefix:

    bf:{<address>}:<a|c:client>:n   failures in the current window (expires with it)
    bf:{<address>}:<a|c:client>:s   strikes: blocks within the strike memory
    bf:{<address>}:<a|c:client>:b   present while blocked (expires with the block)

Issuance limits: one pipelined round trip (INCR the current window, GET the
previous) for clients that have a limit; clients without one never touch Redis.

    rl:{<client>}:<window index>
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

from tokensmith.domain.throttling import (
    BruteForcePolicy,
    IssuanceDecision,
    Scope,
    ThrottleKey,
    sliding_window_decision,
)
from tokensmith.store.redis_link import RedisLink

_RECORD_FAILURE = """
local window_ms = tonumber(ARGV[1])
local memory_ms = tonumber(ARGV[2])
local steps = tonumber(ARGV[3])
local results = {}
for i = 1, #KEYS / 3 do
  local counter, strikes, block = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  local limit = tonumber(ARGV[3 + steps + i])
  local left = redis.call('PTTL', block)
  if left > 0 then
    results[i] = left
  else
    local failures = redis.call('INCR', counter)
    if failures == 1 then redis.call('PEXPIRE', counter, window_ms) end
    if failures > limit then
      local strike = redis.call('INCR', strikes)
      redis.call('PEXPIRE', strikes, memory_ms)
      local duration = tonumber(ARGV[3 + math.min(strike, steps)])
      redis.call('SET', block, strike, 'PX', duration)
      -- The failures keep counting until a whole window has passed after the block.
      redis.call('PEXPIRE', counter, duration + window_ms)
      results[i] = -duration
    else
      results[i] = 0
    end
  end
end
return results
"""


# An attempt counted ahead that succeeded: one failure less, never below zero, and
# the window's expiry kept.
_TAKE_BACK = """
for i = 1, #KEYS do
  local failures = tonumber(redis.call('GET', KEYS[i]) or '0')
  if failures > 0 then redis.call('DECR', KEYS[i]) end
end
return 0
"""


def _durations_ms(policy: BruteForcePolicy) -> list[int]:
    """Block lengths for strike 1, 2, ... until the maximum is reached."""
    durations: list[int] = []
    for strike in range(1, 65):
        durations.append(max(1, round(policy.block_duration(strike) * 1000)))
        if policy.block_duration(strike) >= policy.max_block_seconds:
            break
    return durations


class RedisFailureCounter:
    def __init__(self, policy: BruteForcePolicy, link: RedisLink) -> None:
        self._policy = policy
        self._link = link
        self._durations = _durations_ms(policy)
        self._script = link.client.register_script(_RECORD_FAILURE)
        self._take_back = link.client.register_script(_TAKE_BACK)

    def _base(self, key: ThrottleKey) -> str:
        tail = "a" if key.scope is Scope.ADDRESS else "c:" + key.client_id
        return self._link.key("bf", "{" + key.address + "}", tail)

    async def record(self, keys: Sequence[ThrottleKey]) -> list[tuple[ThrottleKey, float, bool]]:
        """Counts one failure against each key. Returns the keys that are blocked,
        with the seconds left and whether this failure is what blocked them (False:
        the key was already blocked and this process had not heard yet)."""
        names: list[str] = []
        for key in keys:
            base = self._base(key)
            names += [base + ":n", base + ":s", base + ":b"]
        args = [
            round(self._policy.window_seconds * 1000),
            round(self._policy.strike_memory_seconds * 1000),
            len(self._durations),
            *self._durations,
            *(self._policy.limit(key) for key in keys),
        ]
        results = await self._script(keys=names, args=args)
        blocked: list[tuple[ThrottleKey, float, bool]] = []
        for key, result in zip(keys, results, strict=True):
            value = int(result)
            if value > 0:
                blocked.append((key, value / 1000, False))
            elif value < 0:
                blocked.append((key, -value / 1000, True))
        return blocked

    async def take_back(self, keys: Sequence[ThrottleKey]) -> None:
        await self._take_back(keys=[self._base(key) + ":n" for key in keys], args=[])

    async def active_blocks(self) -> list[tuple[ThrottleKey, float]]:
        """Every block in force (for a node that (re)joins the fan-out)."""
        client = self._link.client
        found: list[tuple[ThrottleKey, float]] = []
        async for raw in client.scan_iter(match=self._link.key("bf", "*:b"), count=1000):
            name = raw.decode() if isinstance(raw, bytes) else raw
            key = self._parse(name)
            if key is None:
                continue
            left = await client.pttl(name)
            if left > 0:
                found.append((key, left / 1000))
        return found

    def _parse(self, name: str) -> ThrottleKey | None:
        body = name[len(self._link.key("bf", "")) :]
        if not (body.startswith("{") and body.endswith(":b")):
            return None
        address, _, tail = body[1:-2].partition("}:")
        if tail == "a":
            return ThrottleKey(Scope.ADDRESS, address)
        if tail.startswith("c:"):
            return ThrottleKey(Scope.ADDRESS_CLIENT, address, tail[2:])
        return None


class RedisIssuanceCounter:
    def __init__(self, link: RedisLink, window: float, *, wall_clock: Callable[[], float] = time.time) -> None:
        self._link = link
        self._window = window
        self._clock = wall_clock

    async def take(self, client_id: str, limit: int) -> IssuanceDecision:
        now = self._clock()
        index = math.floor(now / self._window)
        current_key = self._link.key("rl", "{" + client_id + "}", str(index))
        previous_key = self._link.key("rl", "{" + client_id + "}", str(index - 1))
        async with self._link.client.pipeline(transaction=True) as pipe:
            pipe.incr(current_key)
            pipe.pexpire(current_key, math.ceil(self._window * 2000))
            pipe.get(previous_key)
            current, _, previous = await pipe.execute()
        decision = sliding_window_decision(
            limit, int(previous or 0), int(current) - 1, now - index * self._window, self._window
        )
        if not decision.allowed:
            # A refused request does not count; other nodes may briefly have seen it.
            await self._link.client.decr(current_key)
        return decision
