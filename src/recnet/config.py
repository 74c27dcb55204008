"""Settings, read once from the environment (prefix ``RECNET_``).

Development defaults make ``recnet serve`` work on a fresh machine; ``RECNET_ENV=prod`` refuses
them, so a production deployment cannot start by accident on a throwaway database or secret.
"""

from __future__ import annotations

import ipaddress
import os
import re
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_SECRET = "recnet-development-secret-do-not-use-in-production"


def default_threads() -> int:
    """Worker threads for sync routes: twice the cores, measured best on 2-core machines.

    See bench/RESULTS.md (thread-pool calibration): beyond a few threads per core the routes
    contend for the interpreter and throughput falls.
    """
    return max(2, 2 * (os.cpu_count() or 1))


_WEB_ORIGIN = re.compile(r"^https?://[a-z0-9.\-]+(:[0-9]{1,5})?$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RECNET_", extra="ignore")

    env: Literal["dev", "prod"] = "dev"
    database_url: str = "sqlite:///./recnet.db"
    # Explicit consent to run production on the embedded database (a single-node deployment).
    allow_sqlite_in_prod: bool = False
    secret_key: str = Field(default=DEV_SECRET, min_length=32, repr=False)

    # Concurrency: threads that run sync routes, and database connections they share.
    threads: int = Field(default_factory=default_threads, ge=1, le=256)
    db_pool_size: int | None = Field(default=None, ge=1, le=256)
    # The longest a request waits on the database for any one thing: a slot, a connection, an
    # answer to one statement or to its COMMIT. Past it the request is answered 503.
    db_timeout: float = Field(default=5.0, gt=0, le=60)
    # The former name of db_timeout, still read when db_timeout is not given.
    db_pool_timeout: float | None = Field(default=None, gt=0, le=60)
    # On PostgreSQL the app works as this role, which does not own the tables and so is held by
    # row-level security; migrations run as the connecting (owner) role. Empty: no SET ROLE.
    database_role: str = Field(default="recnet_app", pattern=r"^[a-z_][a-z0-9_]{0,62}$|^$")
    # How long SQLite waits for another writer's lock; db_timeout unless given.
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0, le=60000)
    # What a client is told to wait when the database is unavailable.
    retry_after_seconds: int = Field(default=5, ge=1, le=3600)

    # Access tokens (RFC 9068 JWT profile).
    token_ttl_seconds: int = Field(default=900, ge=60, le=3600)
    token_issuer: str = "urn:recnet"
    token_audience: str = "urn:recnet:api"

    # Rate limits, per window: anonymous callers per address, clients per client id. Shared
    # through Redis when it is configured.
    redis_url: str | None = None
    rate_window_seconds: int = Field(default=60, ge=1, le=3600)
    rate_anonymous: int = Field(default=120, ge=1)
    rate_client: int = Field(default=1200, ge=1)
    # Failed token requests, per (client id, address) and per address: after this many, each
    # further attempt from there waits 1 s, doubling with each failure up to the maximum delay;
    # failures are forgotten this long after the last one.
    rate_token_failures: int = Field(default=10, ge=1)
    rate_token_failure_window_seconds: int = Field(default=300, ge=1, le=86400)
    rate_token_failure_max_delay_seconds: int = Field(default=300, ge=1, le=86400)
    # Repeated failures are audit events (one per client id and address, or per address, per
    # failure window): at most this many per window in all, so no flood of addresses floods the
    # audit trail; beyond it they are only logged.
    rate_token_failure_events: int = Field(default=20, ge=1, le=10_000)

    # Disclosure control: counts from 1 to min_cell - 1 persons are withheld from readers below
    # member-state level.
    # At least 3: with 2, a withheld cell would be known to hold exactly 1.
    min_cell: int = Field(default=5, ge=3, le=100)
    max_import_bytes: int = Field(default=64 * 1_048_576, ge=1024)

    # Webhooks. Callback URLs are https and never private, loopback or link-local addresses,
    # except for these hosts (comma-separated in the environment), where http is allowed too.
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # Failed deliveries are retried after base * 2^(n-1) seconds, at most cap, for up to window
    # seconds after the first failure; then the subscription is marked failing and stops.
    webhook_retry_base_seconds: float = Field(default=10.0, gt=0)
    webhook_retry_cap_seconds: float = Field(default=3600.0, gt=0)
    webhook_retry_window_seconds: float = Field(default=86400.0, gt=0)
    # How long a worker holds a subscription (renewed after every delivery).
    webhook_lease_seconds: float = Field(default=60.0, gt=0)
    webhook_concurrency: int = Field(default=8, ge=1, le=256)
    # Deliveries per subscription per round, so one busy subscription does not starve a worker.
    webhook_round_items: int = Field(default=1000, ge=1)

    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or
    # networks, comma-separated in the environment). Empty (the default): forwarded headers are
    # ignored and the connecting address is the client's, so no caller can choose the address
    # that rate limits and failure counts are kept for.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # The URL the service is reached at from outside (scheme, host, any path prefix), which
    # links in feeds start with. Unset: links are relative to the server's root. Never taken
    # from the request's Host header.
    public_url: str | None = Field(default=None, pattern=r"^https?://[^/?#@\s]+(/[^?#\s]*)?$")
    # Web origins (https://host[:port], comma-separated; * for any) whose pages may read the
    # API's anonymous GET answers (CORS). Empty (the default): none. Credentials never: requests
    # carrying Authorization are given no CORS headers, whatever this says.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # GET /metrics in the Prometheus text format: not served (off, the default), served to
    # anyone who reaches it (public: for a scraper on a private network), or only to a caller
    # presenting metrics_token as a bearer token (token).
    metrics: Literal["off", "public", "token"] = "off"
    metrics_token: str | None = Field(default=None, min_length=32, repr=False)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Answers of public reads kept per process until the event log moves (0 turns it off).
    read_cache_mb: int = Field(default=64, ge=0, le=65_536)
    # The record lists answered on the direct path (api/direct.py); off: through FastAPI's
    # routing alone (same answers, more CPU).
    direct_reads: bool = True
    # With Redis configured, answers are shared between processes for this many seconds at most
    # (under the same head of the event log); 0 keeps each process to its own.
    read_cache_shared_seconds: int = Field(default=60, ge=0, le=3600)

    @field_validator("webhook_allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [h.strip().lower() for h in value.split(",") if h.strip()]
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return [h.strip() for h in value.split(",") if h.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: list[str]) -> list[str]:
        for proxy in value:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"{proxy!r} is not an IP address or network") from None
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip().lower().rstrip("/") for o in value.split(",") if o.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _web_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not _WEB_ORIGIN.match(origin):
                raise ValueError(f"{origin!r} is not a web origin (https://host[:port]) or *")
        return value

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") or None if value else None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def pool_size(self) -> int:
        """One connection per worker thread, so a thread never waits for the pool."""
        return self.db_pool_size or self.threads

    @model_validator(mode="after")
    def _former_names(self) -> Settings:
        if self.db_pool_timeout is not None and "db_timeout" not in self.model_fields_set:
            self.db_timeout = self.db_pool_timeout
        if "sqlite_busy_timeout_ms" not in self.model_fields_set:
            self.sqlite_busy_timeout_ms = round(self.db_timeout * 1000)
        return self

    @model_validator(mode="after")
    def _metrics_token_when_asked(self) -> Settings:
        if self.metrics == "token" and not self.metrics_token:
            raise ValueError(
                "RECNET_METRICS=token needs RECNET_METRICS_TOKEN: a random value of at least "
                "32 characters that the scraper sends as a bearer token"
            )
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env != "prod":
            return self
        if self.secret_key == DEV_SECRET:
            raise ValueError(
                "RECNET_ENV=prod refuses the development secret: set RECNET_SECRET_KEY "
                "to a random value of at least 32 characters"
            )
        if self.is_sqlite and not self.allow_sqlite_in_prod:
            raise ValueError(
                "RECNET_ENV=prod refuses an SQLite database: set RECNET_DATABASE_URL to "
                "PostgreSQL, or RECNET_ALLOW_SQLITE_IN_PROD=true for a single-node deployment"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
