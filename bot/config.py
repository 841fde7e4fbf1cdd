"""The one settings object, read from the environment once at start-up (12-factor)."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from datetime import timedelta, tzinfo
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.errors import ConfigError

Language = Literal["en", "nl"]


class Settings(BaseModel):
    """Every knob of the bot. Field aliases are the environment variable names.

    Every setting is a scalar (lists are comma-separated strings, split by the properties below), so
    the environment is simply validated as a mapping (:func:`load_settings`): pydantic-settings added
    nothing here but 60 ms and 5 MiB to every process's start (issue #13)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore", validate_default=True)

    # --- core -----------------------------------------------------------------------------
    redis_url: str | None = Field(None, alias="REDIS_URL")
    # --- Redis beyond one node (bot.store.connect; the README's "Redis beyond one node") ------
    redis_mode: Literal["standalone", "sentinel", "cluster"] = Field("standalone", alias="SMC_REDIS_MODE")
    redis_sentinels_csv: str = Field("", alias="REDIS_SENTINELS")  # host:port,host:port,…
    redis_sentinel_master: str | None = Field(None, alias="REDIS_SENTINEL_MASTER", pattern=r"^\S{1,128}$")
    redis_username: str | None = Field(None, alias="REDIS_USERNAME")  # sentinel mode: the data nodes' ACL user
    redis_password: str | None = Field(None, alias="REDIS_PASSWORD")
    redis_sentinel_password: str | None = Field(None, alias="REDIS_SENTINEL_PASSWORD")
    redis_tls: bool = Field(False, alias="REDIS_TLS")  # sentinel mode (standalone: rediss:// in REDIS_URL)
    redis_tls_ca: str | None = Field(None, alias="REDIS_TLS_CA")  # PEM: the private CA of the servers
    redis_tls_cert: str | None = Field(None, alias="REDIS_TLS_CERT")  # PEM: a client certificate …
    redis_tls_key: str | None = Field(None, alias="REDIS_TLS_KEY")  # … and its key
    redis_wait_replicas: int = Field(1, alias="REDIS_WAIT_REPLICAS", ge=0, le=16)
    dialogues_dir: str | None = Field(None, alias="SMC_DIALOGUES_DIR")
    default_language: Language = Field("en", alias="SMC_DEFAULT_LANGUAGE")
    admins_csv: str = Field("", alias="SMC_ADMINS")
    session_ttl: timedelta = Field(timedelta(days=30), alias="SMC_SESSION_TTL")
    # how long a finished check is kept (from when it finished); None: kept until `purge`
    history_ttl: timedelta | None = Field(None, alias="SMC_HISTORY_TTL")
    redis_prefix: str = Field("smc", alias="SMC_REDIS_PREFIX", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    max_text: int = Field(1000, alias="SMC_MAX_TEXT", ge=20, le=3000)
    redis_server: str | None = Field(None, alias="SMC_REDIS_SERVER")
    secret: str | None = Field(None, alias="SMC_SECRET", min_length=16)
    public_url: str | None = Field(None, alias="SMC_PUBLIC_URL")
    # None: INFO for the servers, WARNING for the console (it shares the terminal with the chat)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = Field(None, alias="SMC_LOG_LEVEL")
    # one JSON object per line, or text; None: text when stderr is a terminal, JSON otherwise (bot.runtime.logs)
    log_format: Literal["json", "text"] | None = Field(None, alias="SMC_LOG_FORMAT")
    # where the console writes `export` files; None: the directory it was started in
    export_dir: Path | None = Field(None, alias="SMC_EXPORT_DIR")
    # --- reminders (bot.runtime.scheduler) ---------------------------------------------------
    timezone: str = Field("UTC", alias="SMC_TIMEZONE")  # where "on 2027-06-01" comes back at 09:00
    nudge_after: timedelta = Field(timedelta(days=2), alias="SMC_NUDGE_AFTER")
    reminder_poll: float = Field(1.0, alias="SMC_REMINDER_POLL", ge=0.05, le=60)
    reminder_lease: timedelta = Field(timedelta(seconds=60), alias="SMC_REMINDER_LEASE")
    reminder_attempts: int = Field(8, alias="SMC_REMINDER_ATTEMPTS", ge=1, le=50)
    reminder_backoff: timedelta = Field(timedelta(seconds=30), alias="SMC_REMINDER_BACKOFF")
    summary_grace: timedelta = Field(timedelta(seconds=120), alias="SMC_SUMMARY_GRACE")
    # --- the click path (bot.store.clicks) ------------------------------------------------------
    # how long a delivery's dedup mark is kept: as long as a platform retries (Slack: within minutes)
    dedup_ttl: timedelta = Field(timedelta(minutes=10), alias="SMC_DEDUP_TTL")
    # entries of every per-process cache (channels and languages of checks, Mattermost's locks)
    cache_size: int = Field(10_000, alias="SMC_CACHE_SIZE", ge=100, le=10_000_000)
    # --- HTTP server ------------------------------------------------------------------------
    port: int = Field(3000, alias="PORT", ge=0, le=65535)  # 0: any free port, logged at start-up
    host: str = Field("0.0.0.0", alias="HOST")
    # SIGTERM/SIGINT: how long requests in flight and queued posts get before the process exits
    shutdown_grace: timedelta = Field(timedelta(seconds=20), alias="SMC_SHUTDOWN_GRACE")
    # --- Slack ------------------------------------------------------------------------------
    slack_bot_token: str | None = Field(None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: str | None = Field(None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: str | None = Field(None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field("https://slack.com/api/", alias="SLACK_API_URL")
    # --- Mattermost -------------------------------------------------------------------------
    mattermost_url: str | None = Field(None, alias="MATTERMOST_URL")
    mattermost_bot_token: str | None = Field(None, alias="MATTERMOST_BOT_TOKEN")
    mattermost_command_token: str | None = Field(None, alias="MATTERMOST_COMMAND_TOKEN")
    mattermost_setup_token: str | None = Field(None, alias="MATTERMOST_SETUP_TOKEN")

    @field_validator(
        "session_ttl",
        "history_ttl",
        "shutdown_grace",
        "nudge_after",
        "reminder_lease",
        "reminder_backoff",
        "summary_grace",
        "dedup_ttl",
        mode="before",
    )
    @classmethod
    def _plain_seconds(cls, value: object) -> object:
        # pydantic reads "3600" as an ISO 8601 duration and fails; plain seconds are documented.
        if isinstance(value, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*", value):
            return float(value)
        return value

    @field_validator("session_ttl")
    @classmethod
    def _positive_ttl(cls, value: timedelta) -> timedelta:
        if value.total_seconds() < 60:
            raise ValueError("must be at least 60 seconds (seconds, or ISO 8601 such as P30D)")
        return value

    @field_validator("history_ttl", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("history_ttl")
    @classmethod
    def _history_ttl(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value.total_seconds() < 60:
            raise ValueError("must be at least 60 seconds (seconds, or ISO 8601 such as P365D), or unset to keep")
        return value

    @field_validator("dedup_ttl")
    @classmethod
    def _dedup_ttl(cls, value: timedelta) -> timedelta:
        if not 10 <= value.total_seconds() <= 86400:
            raise ValueError("must be from 10 seconds to a day (seconds, or ISO 8601 such as PT10M)")
        return value

    @field_validator("shutdown_grace", "nudge_after", "reminder_lease", "reminder_backoff", "summary_grace")
    @classmethod
    def _positive_grace(cls, value: timedelta) -> timedelta:
        if value.total_seconds() <= 0:
            raise ValueError("must be more than 0 seconds (seconds, or ISO 8601 such as PT20S)")
        return value

    @field_validator("slack_api_url", "mattermost_url", "public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be a full http(s) URL, such as https://chat.example.com")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: str | None) -> str | None:
        if value and not value.startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value or None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone such as Europe/Amsterdam or UTC") from None
        return value

    @field_validator(
        "redis_sentinel_master",
        "redis_username",
        "redis_password",
        "redis_sentinel_password",
        "redis_tls_ca",
        "redis_tls_cert",
        "redis_tls_key",
        "log_format",
        mode="before",
    )
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("redis_sentinels_csv")
    @classmethod
    def _sentinel_list(cls, value: str) -> str:
        if value.strip():
            parse_host_ports(value)
        return value.strip()

    @field_validator("redis_tls_ca", "redis_tls_cert", "redis_tls_key")
    @classmethod
    def _readable_file(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"{value} is not a file (a PEM file the bot can read)")
        return value

    @model_validator(mode="after")
    def _redis_topology(self) -> Settings:
        # A ConfigError (pydantic lets it through): these rules are about several variables at once.
        sentinel_only: dict[str, object] = {
            "REDIS_SENTINELS": self.redis_sentinels_csv,
            "REDIS_SENTINEL_MASTER": self.redis_sentinel_master,
            "REDIS_USERNAME": self.redis_username,
            "REDIS_PASSWORD": self.redis_password,
            "REDIS_SENTINEL_PASSWORD": self.redis_sentinel_password,
            "REDIS_TLS": self.redis_tls,
            "REDIS_WAIT_REPLICAS": "redis_wait_replicas" in self.model_fields_set,
        }
        if self.redis_mode == "sentinel":
            missing = [name for name in ("REDIS_SENTINELS", "REDIS_SENTINEL_MASTER") if not sentinel_only[name]]
            if missing:
                raise ConfigError(f"invalid configuration — SMC_REDIS_MODE=sentinel needs {' and '.join(missing)}")
            if self.redis_url:
                raise ConfigError(
                    "invalid configuration — REDIS_URL is set, but with SMC_REDIS_MODE=sentinel the bot finds "
                    "the primary through REDIS_SENTINELS: unset REDIS_URL"
                )
        elif stray := [name for name, value in sentinel_only.items() if value]:
            raise ConfigError(
                f"invalid configuration — {', '.join(stray)}: only used with SMC_REDIS_MODE=sentinel "
                "(standalone: the user, the password and rediss:// go into REDIS_URL)"
            )
        if bool(self.redis_tls_cert) != bool(self.redis_tls_key):
            raise ConfigError("invalid configuration — REDIS_TLS_CERT and REDIS_TLS_KEY go together")
        return self

    @property
    def redis_sentinels(self) -> tuple[tuple[str, int], ...]:
        return parse_host_ports(self.redis_sentinels_csv) if self.redis_sentinels_csv else ()

    @property
    def zone(self) -> tzinfo:
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.timezone)

    @property
    def admins(self) -> frozenset[str]:
        """User ids (as the platform gives them) allowed to steer any check."""
        return frozenset(part.strip() for part in self.admins_csv.split(",") if part.strip())

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)

    @property
    def mattermost_enabled(self) -> bool:
        return bool(self.mattermost_url and self.mattermost_bot_token)

    @property
    def mattermost_command_tokens(self) -> tuple[str, ...]:
        raw = self.mattermost_command_token or ""
        return tuple(part.strip() for part in raw.split(",") if part.strip())


_HOST_PORT = re.compile(r"\[(?P<v6>[0-9A-Fa-f:.]+)\]:(?P<v6port>\d+)|(?P<host>[A-Za-z0-9.-]+):(?P<port>\d+)")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def parse_host_ports(text: str) -> tuple[tuple[str, int], ...]:
    """``host:port,host:port,…`` (an IPv6 address in brackets: ``[::1]:26379``), strictly: each entry a
    host name or address and a port from 1 to 65535 without leading zeros, none twice, none empty."""
    found: list[tuple[str, int]] = []
    for raw in text.split(","):
        entry = raw.strip()
        match = _HOST_PORT.fullmatch(entry)
        if match is None:
            raise ValueError(f"{entry!r} is not host:port (an IPv6 address as [::1]:26379)")
        host, digits = (match["v6"], match["v6port"]) if match["v6"] else (match["host"], match["port"])
        if match["v6"]:
            try:
                ipaddress.IPv6Address(host)
            except ValueError:
                raise ValueError(f"{entry!r}: {host} is not an IPv6 address") from None
        elif len(host) > 253 or not all(_LABEL.fullmatch(label) for label in host.split(".")):
            raise ValueError(f"{entry!r}: {host!r} is not a host name or an IPv4 address")
        port = int(digits)
        if not 1 <= port <= 65535 or digits != str(port):
            raise ValueError(f"{entry!r}: the port must be a number from 1 to 65535")
        if (host, port) in found:
            raise ValueError(f"{entry!r} is listed twice")
        found.append((host, port))
    return tuple(found)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from the environment (or a given mapping), naming any bad variable."""
    try:
        # Only the given mapping counts when one is given; the process environment is ignored then.
        source = os.environ if environ is None else environ
        known = {f.alias for f in Settings.model_fields.values() if f.alias}
        return Settings.model_validate({k: v for k, v in source.items() if k in known})
    except ValidationError as exc:
        names = {f_name: f.alias for f_name, f in Settings.model_fields.items()}
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            problems.append(f"{names.get(field, field)}: {err['msg']}")
        raise ConfigError("invalid configuration — " + "; ".join(problems)) from None
