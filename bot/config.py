"""The one settings object, read from the environment once at start-up (12-factor)."""

from __future__ import annotations

import re
from datetime import timedelta, tzinfo
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError

Language = Literal["en", "nl"]


class Settings(BaseSettings):
    """Every knob of the bot. Field aliases are the environment variable names."""

    model_config = SettingsConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    # --- core -----------------------------------------------------------------------------
    redis_url: str | None = Field(None, alias="REDIS_URL")
    dialogues_dir: str | None = Field(None, alias="SMC_DIALOGUES_DIR")
    default_language: Language = Field("en", alias="SMC_DEFAULT_LANGUAGE")
    admins_csv: str = Field("", alias="SMC_ADMINS")
    session_ttl: timedelta = Field(timedelta(days=30), alias="SMC_SESSION_TTL")
    redis_prefix: str = Field("smc", alias="SMC_REDIS_PREFIX", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    max_text: int = Field(1000, alias="SMC_MAX_TEXT", ge=20, le=3000)
    redis_server: str | None = Field(None, alias="SMC_REDIS_SERVER")
    secret: str | None = Field(None, alias="SMC_SECRET", min_length=16)
    public_url: str | None = Field(None, alias="SMC_PUBLIC_URL")
    # None: INFO for the servers, WARNING for the console (it shares the terminal with the chat)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = Field(None, alias="SMC_LOG_LEVEL")
    # --- reminders (bot.runtime.scheduler) ---------------------------------------------------
    timezone: str = Field("UTC", alias="SMC_TIMEZONE")  # where "on 2027-06-01" comes back at 09:00
    nudge_after: timedelta = Field(timedelta(days=2), alias="SMC_NUDGE_AFTER")
    reminder_poll: float = Field(1.0, alias="SMC_REMINDER_POLL", ge=0.05, le=60)
    reminder_lease: timedelta = Field(timedelta(seconds=60), alias="SMC_REMINDER_LEASE")
    reminder_attempts: int = Field(8, alias="SMC_REMINDER_ATTEMPTS", ge=1, le=50)
    reminder_backoff: timedelta = Field(timedelta(seconds=30), alias="SMC_REMINDER_BACKOFF")
    summary_grace: timedelta = Field(timedelta(seconds=120), alias="SMC_SUMMARY_GRACE")
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
        "shutdown_grace",
        "nudge_after",
        "reminder_lease",
        "reminder_backoff",
        "summary_grace",
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


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build the settings from the environment (or a given mapping), naming any bad variable."""
    try:
        if environ is None:
            return Settings()
        # Only the given mapping counts; the process environment is ignored.
        known = {f.alias for f in Settings.model_fields.values() if f.alias}
        return Settings.model_validate({k: v for k, v in environ.items() if k in known})
    except ValidationError as exc:
        names = {f_name: f.alias for f_name, f in Settings.model_fields.items()}
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            problems.append(f"{names.get(field, field)}: {err['msg']}")
        raise ConfigError("invalid configuration — " + "; ".join(problems)) from None
