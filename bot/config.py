"""The one settings object, read from the environment once at start-up (12-factor)."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from datetime import timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

import msgspec
from msgspec import Meta, field

from bot.errors import ConfigError

Language = Literal["en", "nl"]


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every knob of the bot. Each field's ``name`` is its environment variable.

    Every setting is a scalar (lists are comma-separated strings, split by the properties below), so
    the environment is converted field by field (:func:`load_settings`) with msgspec: pydantic cost
    every process 19 MiB and 150 ms of its start for this and the dialogue schema (issue #13)."""

    # --- core -----------------------------------------------------------------------------
    redis_url: str | None = field(default=None, name="REDIS_URL")
    # --- Redis beyond one node (bot.store.connect; the README's "Redis beyond one node") ------
    redis_mode: Literal["standalone", "sentinel", "cluster"] = field(default="standalone", name="SMC_REDIS_MODE")
    redis_sentinels_csv: str = field(default="", name="REDIS_SENTINELS")  # host:port,host:port,…
    redis_sentinel_master: Annotated[str, Meta(pattern=r"^\S{1,128}$")] | None = field(
        default=None, name="REDIS_SENTINEL_MASTER"
    )
    redis_username: str | None = field(default=None, name="REDIS_USERNAME")  # sentinel mode: the data nodes' ACL user
    redis_password: str | None = field(default=None, name="REDIS_PASSWORD")
    redis_sentinel_password: str | None = field(default=None, name="REDIS_SENTINEL_PASSWORD")
    redis_tls: bool = field(default=False, name="REDIS_TLS")  # sentinel mode (standalone: rediss:// in REDIS_URL)
    redis_tls_ca: str | None = field(default=None, name="REDIS_TLS_CA")  # PEM: the private CA of the servers
    redis_tls_cert: str | None = field(default=None, name="REDIS_TLS_CERT")  # PEM: a client certificate …
    redis_tls_key: str | None = field(default=None, name="REDIS_TLS_KEY")  # … and its key
    redis_wait_replicas: Annotated[int, Meta(ge=0, le=16)] = field(default=1, name="REDIS_WAIT_REPLICAS")
    dialogues_dir: str | None = field(default=None, name="SMC_DIALOGUES_DIR")
    default_language: Language = field(default="en", name="SMC_DEFAULT_LANGUAGE")
    admins_csv: str = field(default="", name="SMC_ADMINS")
    session_ttl: timedelta = field(default=timedelta(days=30), name="SMC_SESSION_TTL")
    # how long a finished check is kept (from when it finished); None: kept until `purge`
    history_ttl: timedelta | None = field(default=None, name="SMC_HISTORY_TTL")
    redis_prefix: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")] = field(
        default="smc", name="SMC_REDIS_PREFIX"
    )
    max_text: Annotated[int, Meta(ge=20, le=3000)] = field(default=1000, name="SMC_MAX_TEXT")
    redis_server: str | None = field(default=None, name="SMC_REDIS_SERVER")
    secret: Annotated[str, Meta(min_length=16)] | None = field(default=None, name="SMC_SECRET")
    public_url: str | None = field(default=None, name="SMC_PUBLIC_URL")
    # None: INFO for the servers, WARNING for the console (it shares the terminal with the chat)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = field(default=None, name="SMC_LOG_LEVEL")
    # one JSON object per line, or text; None: text when stderr is a terminal, JSON otherwise (bot.runtime.logs)
    log_format: Literal["json", "text"] | None = field(default=None, name="SMC_LOG_FORMAT")
    # where the console writes `export` files; None: the directory it was started in
    export_dir: Path | None = field(default=None, name="SMC_EXPORT_DIR")
    # --- reminders (bot.runtime.scheduler) ---------------------------------------------------
    timezone: str = field(default="UTC", name="SMC_TIMEZONE")  # where "on 2027-06-01" comes back at 09:00
    nudge_after: timedelta = field(default=timedelta(days=2), name="SMC_NUDGE_AFTER")
    reminder_poll: Annotated[float, Meta(ge=0.05, le=60)] = field(default=1.0, name="SMC_REMINDER_POLL")
    reminder_lease: timedelta = field(default=timedelta(seconds=60), name="SMC_REMINDER_LEASE")
    reminder_attempts: Annotated[int, Meta(ge=1, le=50)] = field(default=8, name="SMC_REMINDER_ATTEMPTS")
    reminder_backoff: timedelta = field(default=timedelta(seconds=30), name="SMC_REMINDER_BACKOFF")
    summary_grace: timedelta = field(default=timedelta(seconds=120), name="SMC_SUMMARY_GRACE")
    # --- the click path (bot.store.clicks) ------------------------------------------------------
    # how long a delivery's dedup mark is kept: as long as a platform retries (Slack: within minutes)
    dedup_ttl: timedelta = field(default=timedelta(minutes=10), name="SMC_DEDUP_TTL")
    # entries of every per-process cache (channels and languages of checks, Mattermost's locks)
    cache_size: Annotated[int, Meta(ge=100, le=10_000_000)] = field(default=10_000, name="SMC_CACHE_SIZE")
    # --- HTTP server ------------------------------------------------------------------------
    port: Annotated[int, Meta(ge=0, le=65535)] = field(default=3000, name="PORT")  # 0: any free port, logged
    host: str = field(default="0.0.0.0", name="HOST")
    # SIGTERM/SIGINT: how long requests in flight and queued posts get before the process exits
    shutdown_grace: timedelta = field(default=timedelta(seconds=20), name="SMC_SHUTDOWN_GRACE")
    # --- Slack ------------------------------------------------------------------------------
    slack_bot_token: str | None = field(default=None, name="SLACK_BOT_TOKEN")
    slack_signing_secret: str | None = field(default=None, name="SLACK_SIGNING_SECRET")
    slack_app_token: str | None = field(default=None, name="SLACK_APP_TOKEN")
    slack_api_url: str = field(default="https://slack.com/api/", name="SLACK_API_URL")
    # --- Mattermost -------------------------------------------------------------------------
    mattermost_url: str | None = field(default=None, name="MATTERMOST_URL")
    mattermost_bot_token: str | None = field(default=None, name="MATTERMOST_BOT_TOKEN")
    mattermost_command_token: str | None = field(default=None, name="MATTERMOST_COMMAND_TOKEN")
    mattermost_setup_token: str | None = field(default=None, name="MATTERMOST_SETUP_TOKEN")

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


# --- what the types alone do not say -------------------------------------------------------------

# Set but empty means unset for these (a compose file passes `X=${X:-}`).
_EMPTY_IS_UNSET = frozenset(
    (
        *("history_ttl", "redis_sentinel_master", "redis_username", "redis_password", "redis_sentinel_password"),
        *("redis_tls_ca", "redis_tls_cert", "redis_tls_key", "log_format", "slack_app_token", "mattermost_url"),
        *("public_url", "slack_api_url"),
    )
)
# The spellings of yes and no an operator may use (msgspec on its own reads true/false/1/0).
_YES, _NO = frozenset(("1", "true", "yes", "on", "t", "y")), frozenset(("0", "false", "no", "off", "f", "n"))


def _at_least_a_minute(value: timedelta) -> str | None:
    return "must be at least 60 seconds (seconds, or ISO 8601 such as P30D)" if value.total_seconds() < 60 else None


def _history_ttl(value: timedelta | None) -> str | None:
    if value is not None and value.total_seconds() < 60:
        return "must be at least 60 seconds (seconds, or ISO 8601 such as P365D), or unset to keep"
    return None


def _dedup_window(value: timedelta) -> str | None:
    if not 10 <= value.total_seconds() <= 86400:
        return "must be from 10 seconds to a day (seconds, or ISO 8601 such as PT10M)"
    return None


def _more_than_zero(value: timedelta) -> str | None:
    return "must be more than 0 seconds (seconds, or ISO 8601 such as PT20S)" if value.total_seconds() <= 0 else None


def _http_url(value: str | None) -> str | None:
    parts = urlsplit(value or "")
    if value is not None and (parts.scheme not in ("http", "https") or not parts.hostname):
        return "must be a full http(s) URL, such as https://chat.example.com"
    return None


def _app_token(value: str | None) -> str | None:
    return "must be an app-level token starting with xapp-" if value and not value.startswith("xapp-") else None


def _known_zone(value: str) -> str | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return "must be an IANA time zone such as Europe/Amsterdam or UTC"
    return None


def _sentinel_list(value: str) -> str | None:
    try:
        if value.strip():
            parse_host_ports(value)
    except ValueError as exc:
        return str(exc)
    return None


def _readable_file(value: str | None) -> str | None:
    if value is not None and not Path(value).is_file():
        return f"{value} is not a file (a PEM file the bot can read)"
    return None


_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "session_ttl": _at_least_a_minute,
    "history_ttl": _history_ttl,
    "dedup_ttl": _dedup_window,
    "shutdown_grace": _more_than_zero,
    "nudge_after": _more_than_zero,
    "reminder_lease": _more_than_zero,
    "reminder_backoff": _more_than_zero,
    "summary_grace": _more_than_zero,
    "slack_api_url": _http_url,
    "mattermost_url": _http_url,
    "public_url": _http_url,
    "slack_app_token": _app_token,
    "timezone": _known_zone,
    "redis_sentinels_csv": _sentinel_list,
    "redis_tls_ca": _readable_file,
    "redis_tls_cert": _readable_file,
    "redis_tls_key": _readable_file,
}


def env_names() -> dict[str, str]:
    """Each setting's field name by its environment variable."""
    return {f.encode_name: f.name for f in msgspec.structs.fields(Settings)}


def _convert(name: str, kind: Any, raw: str) -> Any:
    word = raw.strip()
    if name in _EMPTY_IS_UNSET and not word:
        return None
    if kind is bool and (word.lower() in _YES or word.lower() in _NO):
        return word.lower() in _YES
    if kind in (Path, Path | None):
        return Path(raw)
    # " P30D " and "3600 " read as the documented ISO 8601 and plain seconds; other text as given
    return msgspec.convert(word if kind in (timedelta, timedelta | None) else raw, kind, strict=False)


_EXPECTED = {"int": "a whole number", "float": "a number", "bool": "yes or no (true/false, 1/0, on/off)"}


def _problem(exc: msgspec.ValidationError, kind: Any, raw: str) -> str:
    text = str(exc).split(" - at `$`")[0]
    if found := re.fullmatch(r"Expected `(int|float|bool)`, got `str`", text):
        return f"expected {_EXPECTED[found[1]]}, got {raw!r}"
    if "ISO8601 duration" in text:  # msgspec reads D, H, M, S (no weeks, months or years: not a fixed length)
        return f"expected seconds, or an ISO 8601 duration in days, hours, minutes, seconds such as P30D, got {raw!r}"
    # A Literal's values, also inside `Literal[...] | None`
    parts = [arg for part in get_args(kind) for arg in (get_args(part) or (part,))]
    choices = [arg for arg in parts if isinstance(arg, str)]
    if text.startswith("Invalid enum value") and choices:
        text += f" (one of {', '.join(choices)})"
    return text[:1].lower() + text[1:]


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
    """Build the settings from the environment (or a given mapping), naming every bad variable."""
    # Only the given mapping counts when one is given; the process environment is ignored then.
    source = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    problems: list[str] = []
    for spec in msgspec.structs.fields(Settings):
        if spec.encode_name not in source:
            continue
        try:
            value = _convert(spec.name, spec.type, source[spec.encode_name])
        except msgspec.ValidationError as exc:
            problems.append(f"{spec.encode_name}: {_problem(exc, spec.type, source[spec.encode_name])}")
            continue
        if value is None and spec.default is not None:
            continue  # empty: the default
        problem = _CHECKS[spec.name](value) if spec.name in _CHECKS else None
        if problem:
            problems.append(f"{spec.encode_name}: {problem}")
        values[spec.name] = value
    if problems:
        raise ConfigError("invalid configuration — " + "; ".join(problems))
    if values.get("redis_sentinels_csv"):
        values["redis_sentinels_csv"] = values["redis_sentinels_csv"].strip()
    settings = Settings(**values)
    _check_redis_topology(settings, given="REDIS_WAIT_REPLICAS" in source)
    return settings


def _check_redis_topology(settings: Settings, given: bool) -> None:
    """The rules about several variables at once."""
    sentinel_only: dict[str, object] = {
        "REDIS_SENTINELS": settings.redis_sentinels_csv,
        "REDIS_SENTINEL_MASTER": settings.redis_sentinel_master,
        "REDIS_USERNAME": settings.redis_username,
        "REDIS_PASSWORD": settings.redis_password,
        "REDIS_SENTINEL_PASSWORD": settings.redis_sentinel_password,
        "REDIS_TLS": settings.redis_tls,
        "REDIS_WAIT_REPLICAS": given,
    }
    if settings.redis_mode == "sentinel":
        missing = [name for name in ("REDIS_SENTINELS", "REDIS_SENTINEL_MASTER") if not sentinel_only[name]]
        if missing:
            raise ConfigError(f"invalid configuration — SMC_REDIS_MODE=sentinel needs {' and '.join(missing)}")
        if settings.redis_url:
            raise ConfigError(
                "invalid configuration — REDIS_URL is set, but with SMC_REDIS_MODE=sentinel the bot finds "
                "the primary through REDIS_SENTINELS: unset REDIS_URL"
            )
    elif stray := [name for name, value in sentinel_only.items() if value]:
        raise ConfigError(
            f"invalid configuration — {', '.join(stray)}: only used with SMC_REDIS_MODE=sentinel "
            "(standalone: the user, the password and rediss:// go into REDIS_URL)"
        )
    if bool(settings.redis_tls_cert) != bool(settings.redis_tls_key):
        raise ConfigError("invalid configuration — REDIS_TLS_CERT and REDIS_TLS_KEY go together")
