"""Settings from the environment, and production's refusal of unsafe defaults."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from recnet.config import DEV_SECRET, Settings

PROD_SECRET = "a-production-secret-of-sufficient-length-0123456789"
PG = "postgresql://recnet@db.internal/recnet"


def test_defaults_serve_the_embedded_database(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RECNET_DATABASE_URL", "RECNET_ENV", "RECNET_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.env == "dev"
    assert settings.database_url == "sqlite:///./recnet.db"
    assert settings.is_sqlite


def test_settings_come_from_recnet_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECNET_DATABASE_URL", PG)
    monkeypatch.setenv("RECNET_THREADS", "3")
    settings = Settings()
    assert settings.database_url == PG
    assert settings.threads == 3
    assert settings.pool_size == 3


def test_prod_refuses_the_development_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECNET_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="development secret"):
        Settings(env="prod", database_url=PG)


def test_prod_refuses_sqlite_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="SQLite"):
        Settings(env="prod", database_url="sqlite:///./recnet.db", secret_key=PROD_SECRET)
    allowed = Settings(
        env="prod",
        database_url="sqlite:///./recnet.db",
        secret_key=PROD_SECRET,
        allow_sqlite_in_prod=True,
    )
    assert allowed.is_sqlite


def test_prod_starts_with_postgresql_and_a_real_secret() -> None:
    settings = Settings(env="prod", database_url=PG, secret_key=PROD_SECRET)
    assert settings.secret_key != DEV_SECRET


def test_secret_is_not_shown_in_repr() -> None:
    assert PROD_SECRET not in repr(Settings(secret_key=PROD_SECRET))


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "https://", "//evil.example", "https://a.example/?x=1"]
)
def test_a_public_url_must_be_an_http_url_without_query(url: str) -> None:
    with pytest.raises(ValidationError):
        Settings(public_url=url)


def test_a_public_url_is_kept_without_its_trailing_slash() -> None:
    assert Settings(public_url="https://recnet.example.org/api/").public_url == (
        "https://recnet.example.org/api"
    )
    assert Settings().public_url is None
    assert Settings().trusted_proxies == []


def test_metrics_are_not_served_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECNET_METRICS", raising=False)
    assert Settings().metrics == "off"


def test_metrics_token_mode_refuses_to_start_without_a_token() -> None:
    with pytest.raises(ValidationError, match="RECNET_METRICS_TOKEN"):
        Settings(metrics="token")
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(metrics="token", metrics_token="short")


def test_metrics_token_is_not_shown_in_repr() -> None:
    token = "scraper-token-" + "x" * 32
    settings = Settings(metrics="token", metrics_token=token)
    assert token not in repr(settings)
