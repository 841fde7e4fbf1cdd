"""The settings from the environment: every variable converted, every bad one named at once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import Settings, env_names, load_settings
from bot.errors import ConfigError


def test_no_variables_give_the_documented_defaults() -> None:
    assert load_settings({}) == Settings()
    assert load_settings({}).port == 3000 and load_settings({}).session_ttl == timedelta(days=30)


def test_values_are_converted_from_their_text() -> None:
    settings = load_settings(
        {
            "PORT": "8080",
            "SMC_REMINDER_POLL": "0.5",
            "SMC_SESSION_TTL": "P30D",
            "SMC_SHUTDOWN_GRACE": " 45 ",
            "SMC_DEDUP_TTL": "PT10M",
            "SMC_HISTORY_TTL": "P1DT12H",
            "SMC_EXPORT_DIR": "/tmp/exports",
            "SMC_LOG_LEVEL": "DEBUG",
            "NOT_A_SETTING": "ignored",
        }
    )
    assert settings.port == 8080 and settings.reminder_poll == 0.5
    assert settings.session_ttl == timedelta(days=30) and settings.shutdown_grace == timedelta(seconds=45)
    assert settings.dedup_ttl == timedelta(minutes=10) and settings.history_ttl == timedelta(hours=36)
    assert settings.export_dir == Path("/tmp/exports") and settings.log_level == "DEBUG"


@pytest.mark.parametrize(("text", "value"), [("yes", True), ("ON", True), ("1", True), ("no", False), ("off", False)])
def test_a_yes_no_setting_reads_the_usual_spellings(text: str, value: bool) -> None:
    settings = load_settings(
        {"SMC_REDIS_MODE": "sentinel", "REDIS_SENTINELS": "s1:26379", "REDIS_SENTINEL_MASTER": "m", "REDIS_TLS": text}
    )
    assert settings.redis_tls is value


def test_empty_means_unset_where_a_compose_file_passes_empty_values() -> None:
    settings = load_settings({"SMC_HISTORY_TTL": " ", "SLACK_API_URL": "", "SLACK_APP_TOKEN": "", "SMC_LOG_FORMAT": ""})
    assert settings.history_ttl is None and settings.slack_app_token is None and settings.log_format is None
    assert settings.slack_api_url == "https://slack.com/api/"  # empty: the default, not None


def test_every_bad_variable_is_named_in_one_message() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(
            {
                "PORT": "eighty",
                "SMC_LOG_LEVEL": "LOUD",
                "SMC_SESSION_TTL": "P1W",
                "SMC_MAX_TEXT": "5",
                "SMC_TIMEZONE": "Mars/Olympus",
                "MATTERMOST_URL": "ftp://chat",
            }
        )
    message = str(info.value)
    assert message.startswith("invalid configuration — ")
    assert "PORT: expected a whole number, got 'eighty'" in message
    assert "SMC_LOG_LEVEL: invalid enum value 'LOUD' (one of DEBUG, INFO, WARNING, ERROR)" in message
    assert "SMC_SESSION_TTL: expected seconds, or an ISO 8601 duration" in message and "'P1W'" in message
    assert "SMC_MAX_TEXT: expected `int` >= 20" in message
    assert "SMC_TIMEZONE: must be an IANA time zone" in message
    assert "MATTERMOST_URL: must be a full http(s) URL" in message


def test_a_secret_is_never_echoed_in_the_message() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"SMC_SECRET": "short-secret"})
    assert "SMC_SECRET" in str(info.value) and "short-secret" not in str(info.value)


def test_rules_about_several_variables_still_hold() -> None:
    with pytest.raises(ConfigError, match="REDIS_WAIT_REPLICAS: only used with SMC_REDIS_MODE=sentinel"):
        load_settings({"REDIS_WAIT_REPLICAS": "1"})  # the default value, but given: it counts
    with pytest.raises(ConfigError, match="REDIS_TLS_CERT and REDIS_TLS_KEY go together"):
        load_settings({"REDIS_TLS_CERT": __file__})


def test_every_field_has_its_environment_variable() -> None:
    names = env_names()
    assert len(names) == len(set(names.values())) and all(name.isupper() for name in names)
    assert names["PORT"] == "port" and names["SMC_DEDUP_TTL"] == "dedup_ttl"


@given(name=st.sampled_from(sorted(env_names())), value=st.text(max_size=40))
def test_any_text_in_any_variable_loads_or_names_the_variable(name: str, value: str) -> None:
    try:
        load_settings({name: value})
    except ConfigError as exc:
        assert name in str(exc)
