"""State that replicas behind a load balancer share: the read cache, workspace discovery, pending
confirmations and each tenant's ARM request budget.

``SharedState`` keeps it in this process (the default: one server, as over stdio). ``RedisState`` keeps
it in Redis (``[hosted] redis_url``) so that whichever replica answers a request sees what the others
cached, discovered and previewed, and all of them together stay within one tenant's budget. Redis is
optional at run time too: while it cannot be reached, every operation falls back (no shared cache:
reads go to Azure; discovery, confirmations and budgets in this process), ``status()`` says so, and the
first successful call after the outage brings the shared state back.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from .azure.cache import TtlCache, related, touched_by_write
from .errors import KitError
from .log import logger

T = TypeVar("T")

#: a token bucket in Redis: take one token (the count may go negative: a queue of reservations) and
#: answer how long the caller must wait for it; Redis's clock is the one clock every replica shares
_BUCKET_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate) - 1
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
if tokens >= 0 then return '0' end
return tostring(-tokens / rate)
"""


class TokenBuckets:
    """Token buckets in this process, one per key: ``reserve`` takes a token and says how long to wait."""

    def __init__(self) -> None:
        self._state: dict[str, tuple[float, float]] = {}

    def reserve(self, key: str, rate: float, burst: int) -> float:
        now = time.monotonic()
        tokens, at = self._state.get(key, (float(burst), now))
        tokens = min(float(burst), tokens + (now - at) * rate) - 1
        self._state[key] = (tokens, now)
        return 0.0 if tokens >= 0 else -tokens / rate


class SharedState:
    """The in-process default: what one server keeps for itself."""

    backend = "process"

    def __init__(self) -> None:
        self._values: dict[str, tuple[float, Any]] = {}
        self._buckets = TokenBuckets()

    def status(self) -> dict[str, Any]:
        """What ``server_stats`` reports about shared state."""
        return {"backend": self.backend, "shared": False}

    def cache(self, ttl: float) -> TtlCache:
        return TtlCache(ttl)

    # -- small JSON values with a time to live (discovery scans, pending confirmations) ----------------
    def get_json(self, name: str) -> Any | None:
        hit = self._values.get(name)
        if hit is None:
            return None
        if hit[0] < time.monotonic():
            del self._values[name]
            return None
        return hit[1]

    def set_json(self, name: str, value: Any, ttl: float) -> None:
        self._values[name] = (time.monotonic() + ttl, json.loads(json.dumps(value, default=str)))

    def pop_json(self, name: str) -> Any | None:
        value = self.get_json(name)
        self._values.pop(name, None)
        return value

    # -- request budgets ----------------------------------------------------------------------------
    def reserve(self, bucket: str, rate: float, burst: int) -> float:
        """Take a token from ``bucket`` (``rate`` per second, at most ``burst`` saved): seconds to wait for it."""
        return self._buckets.reserve(bucket, rate, burst)

    async def acquire(self, bucket: str, rate: float, burst: int) -> None:
        """Return once this request fits ``bucket``'s budget (shared by every replica with Redis)."""
        if rate <= 0:
            return
        wait = self.reserve(bucket, rate, burst)
        if wait > 0:
            await asyncio.sleep(wait)

    def close(self) -> None:
        pass


def redacted_url(url: str) -> str:
    """``redis://:***@host:port/db``: a URL fit for logs and status answers."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class RedisLink:
    """One redis-py client behind a circuit breaker: a failed call marks Redis down, calls return their
    fallback without trying for ``retry_after`` seconds, then one call tries again; ``on_recover``
    callbacks run when a call succeeds after an outage. Timeouts are short: a local cache that takes
    longer than a quarter of a second is worse than none."""

    def __init__(self, url: str, prefix: str, *, timeout: float = 0.25, retry_after: float = 1.0) -> None:
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError as exc:
            raise KitError("[hosted] redis_url (or SENTINELKIT_REDIS_URL) is set but redis-py is not installed: "
                           "pip install 'sentinelkit[hosted]'") from exc
        try:
            self.client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                               retry=Retry(NoBackoff(), 0), health_check_interval=0)
        except ValueError as exc:
            raise KitError(f"[hosted] redis_url {redacted_url(url)!r} is not a Redis URL ({exc}); "
                           "use redis://host:port/db or rediss:// for TLS") from None
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self.url = redacted_url(url)
        self.prefix = prefix
        self.retry_after = retry_after
        self.available = True
        self.down_since: float | None = None
        self.last_error: str | None = None
        self.failures = 0
        self.outages = 0
        self._next_try = 0.0
        self.on_recover: list[Callable[[], None]] = []

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def run(self, operation: Callable[[Any], T], fallback: T) -> T:
        """``operation(client)``, or ``fallback`` while Redis is down (or when this call fails)."""
        now = time.monotonic()
        if not self.available and now < self._next_try:
            return fallback
        try:
            result = operation(self.client)
        except self._errors as exc:
            self._failed(exc, now)
            return fallback
        if not self.available:
            self._recovered()
        return result

    def _failed(self, exc: BaseException, now: float) -> None:
        self.failures += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        self._next_try = now + self.retry_after
        if self.available:
            self.available = False
            self.outages += 1
            self.down_since = time.time()
            logger().warning("redis_unavailable", url=self.url, error=self.last_error,
                             hint="answering from Azure directly (no shared cache) until Redis is back")

    def _recovered(self) -> None:
        self.available = True
        logger().warning("redis_recovered", url=self.url, down_seconds=round(time.time() - (self.down_since or 0), 1))
        self.down_since = None
        for callback in self.on_recover:
            try:
                callback()
            except Exception:  # a callback failing must not fail the call that found Redis back
                logger().warning("redis_recover_callback_failed", exc_info=True)

    def status(self) -> dict[str, Any]:
        """Reachability now (a PING, unless Redis failed less than ``retry_after`` ago), outages and failed calls."""
        self.run(lambda r: r.ping(), None)
        out: dict[str, Any] = {"url": self.url, "available": self.available, "outages": self.outages,
                               "failed_calls": self.failures}
        if not self.available:
            out["down_since"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.down_since or 0))
            out["last_error"] = self.last_error
            out["meanwhile"] = ("answering from Azure directly: no shared cache; discovery, confirmations and "
                                "request budgets are kept by each replica until Redis is back")
        return out


class SharedCache(TtlCache):
    """The read cache in Redis: values as JSON under ``<prefix>:cache:<scope>:<key>`` with the TTL, and an
    index per subscription (a set of ``scope\\0key``) so that a write invalidates what it makes stale on
    every replica without scanning the keyspace. While Redis is down nothing is cached; a replica that
    could not invalidate a write meanwhile clears the shared cache when Redis is back."""

    def __init__(self, ttl: float, link: RedisLink) -> None:
        super().__init__(ttl)
        self.link = link
        self._missed_invalidation = False
        link.on_recover.append(self._after_outage)

    def _value_key(self, scope: str, key: str) -> str:
        return self.link.key("cache", scope, key)

    def _index(self, key: str) -> str:
        parts = key.split("?", 1)[0].strip("/").split("/")
        subscription = parts[1].lower() if len(parts) >= 2 and parts[0].lower() == "subscriptions" else "-"
        return self.link.key("cacheidx", subscription)

    def get(self, scope: str, key: str) -> Any | None:
        raw = self.link.run(lambda r: r.get(self._value_key(scope, key)), None)
        return json.loads(raw) if raw is not None else None

    def put(self, scope: str, key: str, value: Any) -> None:
        if self.ttl <= 0:
            return
        try:
            data = json.dumps(value)
        except (TypeError, ValueError):  # not JSON: cannot be shared; the next read asks Azure again
            return
        ttl_ms = max(int(self.ttl * 1000), 1)
        index = self._index(key)

        def store(r: Any) -> None:
            pipe = r.pipeline(transaction=False)
            pipe.set(self._value_key(scope, key), data, px=ttl_ms)
            pipe.sadd(index, f"{scope}\0{key}")
            pipe.pexpire(index, ttl_ms + 60_000)
            pipe.execute()

        self.link.run(store, None)

    def _indexes_for(self, path: str) -> list[str]:
        here = self._index(path)
        if here.endswith(":-"):  # a path above every subscription: look everywhere
            return self.link.run(lambda r: [k.decode() for k in r.scan_iter(match=self.link.key("cacheidx", "*"))], [])
        return [here, self.link.key("cacheidx", "-")]

    def _drop_where(self, path: str, stale: Callable[[str, str], bool]) -> int:
        def drop(r: Any) -> int:
            dropped = 0
            for index in self._indexes_for(path):
                members = [m.decode() for m in r.smembers(index)]
                gone = [m for m in members if stale(m.split("\0", 1)[1], path)]
                if gone:
                    r.delete(*(self._value_key(*m.split("\0", 1)) for m in gone))
                    r.srem(index, *gone)
                    dropped += len(gone)
            return dropped

        result = self.link.run(drop, -1)
        if result < 0:
            self._missed_invalidation = True
            return 0
        return result

    def invalidate(self, path: str) -> int:
        return self._drop_where(path, related)

    def invalidate_write(self, path: str) -> int:
        return self._drop_where(path, touched_by_write)

    def clear(self) -> None:
        def clear_all(r: Any) -> None:
            for pattern in (self.link.key("cache", "*"), self.link.key("cacheidx", "*")):
                keys = list(r.scan_iter(match=pattern, count=500))
                for i in range(0, len(keys), 500):
                    r.unlink(*keys[i:i + 500])

        self.link.run(clear_all, None)

    def _after_outage(self) -> None:
        if self._missed_invalidation:
            self._missed_invalidation = False
            logger().warning("shared_cache_cleared", reason="a write could not invalidate it while Redis was down")
            self.clear()


class RedisState(SharedState):
    """Shared state in Redis, with this process's state as the fallback while Redis is unreachable."""

    backend = "redis"

    def __init__(self, url: str, prefix: str = "sentinelkit") -> None:
        super().__init__()
        self.link = RedisLink(url, prefix)
        self._script: Any = None

    def status(self) -> dict[str, Any]:
        link = self.link.status()
        return {"backend": self.backend, "shared": link["available"], **link}

    def cache(self, ttl: float) -> TtlCache:
        return SharedCache(ttl, self.link)

    def _read(self, command: str, name: str, fallback: Callable[[str], Any]) -> Any | None:
        """``GET``/``GETDEL`` of a JSON value, or ``fallback(name)`` (this process's copy) while Redis is down."""
        missing = object()
        raw: Any = self.link.run(lambda r: getattr(r, command)(self.link.key("state", name)), missing)
        if raw is missing:
            return fallback(name)
        return json.loads(raw) if raw is not None else None

    def get_json(self, name: str) -> Any | None:
        return self._read("get", name, super().get_json)

    def set_json(self, name: str, value: Any, ttl: float) -> None:
        data = json.dumps(value, default=str)
        done = self.link.run(lambda r: r.set(self.link.key("state", name), data, px=max(int(ttl * 1000), 1)), None)
        if done is None:
            super().set_json(name, value, ttl)

    def pop_json(self, name: str) -> Any | None:
        return self._read("getdel", name, super().pop_json)

    def reserve(self, bucket: str, rate: float, burst: int) -> float:
        def take(r: Any) -> float:
            if self._script is None:
                self._script = r.register_script(_BUCKET_LUA)
            return float(self._script(keys=[self.link.key("budget", bucket)], args=[rate, burst]))

        wait = self.link.run(take, -1.0)
        return wait if wait >= 0 else super().reserve(bucket, rate, burst)

    def close(self) -> None:
        try:
            self.link.client.close()
        except Exception:
            pass


def shared_state(redis_url: str | None, prefix: str = "sentinelkit") -> SharedState:
    """``RedisState`` when a Redis URL is configured, else the in-process ``SharedState``."""
    return RedisState(redis_url, prefix) if redis_url else SharedState()
