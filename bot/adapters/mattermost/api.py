"""The Mattermost REST client: mattermostdriver 7.3.2 (REST part only, never its websocket) with
bounded retries on 429 (waiting ``X-Ratelimit-Reset``) and on connection errors.

The only module in ``bot/`` that imports ``mattermostdriver``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from mattermostdriver import Driver
from mattermostdriver.client import Client
from mattermostdriver.exceptions import (
    ContentTooLarge,
    FeatureDisabled,
    InvalidOrMissingParameters,
    MethodNotAllowed,
    NoAccessTokenProvided,
    NotEnoughPermissions,
    ResourceNotFound,
)
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from bot.errors import ConfigError, PlatformError

log = logging.getLogger(__name__)


class MattermostError(PlatformError):
    """A REST call failed; ``status`` is the HTTP status when Mattermost answered one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def driver_options(url: str, token: str, request_timeout: float = 10.0) -> dict[str, Any]:
    """Split a full MATTERMOST_URL into the driver's scheme / host / int port / basepath."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"MATTERMOST_URL must be a full http(s) URL such as https://chat.example.com, got {url!r}")
    host = parts.hostname
    if ":" in host:  # IPv6 literal: the driver formats '{scheme}://{url}:{port}'
        host = f"[{host}]"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ConfigError(f"MATTERMOST_URL has an invalid port: {url!r}") from None
    prefix = parts.path.rstrip("/")
    return {
        "scheme": parts.scheme,
        "url": host,
        "port": int(port),
        "basepath": f"{prefix}/api/v4",
        "token": token,
        "verify": True,
        "request_timeout": request_timeout,
        "keepalive": False,
        "debug": False,
    }


# The driver re-raises these without the response (``from None``); the class is the status.
_DRIVER_ERRORS: dict[type[BaseException], int] = {
    InvalidOrMissingParameters: 400,
    NoAccessTokenProvided: 401,
    NotEnoughPermissions: 403,
    ResourceNotFound: 404,
    MethodNotAllowed: 405,
    ContentTooLarge: 413,
    FeatureDisabled: 501,
}


_STATUS_ERRORS: dict[int, type[Exception]] = {status: cls for cls, status in _DRIVER_ERRORS.items()}  # type: ignore[misc]


def _status(exc: BaseException) -> int | None:
    for cls, status in _DRIVER_ERRORS.items():
        if isinstance(exc, cls):
            return status
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    return int(code) if code is not None else None


POOL_CONNECTIONS = 16  # kept-alive connections to Mattermost (outbox workers, dialogs from request threads)


class PooledClient(Client):  # type: ignore[misc]
    """mattermostdriver's Client on one ``requests.Session``: its ``make_request`` calls the module-level
    ``requests.post`` & co., a new session (and TCP/TLS connection) per call. This is the same request
    on a kept-alive connection pool, and the same errors (the driver's exception per status; other
    statuses as ``requests.HTTPError``, with the response)."""

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__(options)
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=2, pool_maxsize=POOL_CONNECTIONS)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # What requests reads from the environment on every call (the proxy variables, a CA bundle, and
        # ~/.netrc, whose entry would replace the bot's token), read once: every call goes to one server.
        # It was a fifth of a tally edit's time in requests (issue #13).
        self.session.trust_env = False
        self.session.proxies = requests.utils.get_environ_proxies(self.url)
        self._ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")

    def make_request(
        self,
        method: str,
        endpoint: str,
        options: Any = None,
        params: Any = None,
        data: Any = None,
        files: Any = None,
        basepath: str | None = None,
    ) -> requests.Response:
        url = self.url
        if basepath:
            opts = self._options
            url = f"{opts['scheme']}://{opts['url']}:{opts['port']}{basepath}"
        response = self.session.request(
            method.upper(),
            url + endpoint,
            headers=self.auth_header(),
            verify=self._ca_bundle if self._verify is True and self._ca_bundle else self._verify,
            json=options or {},
            params=params or {},
            data=data or {},
            files=files,
            timeout=self.request_timeout,
            auth=self._auth() if self._auth is not None else None,
        )
        try:
            response.raise_for_status()
        except requests.HTTPError:
            driver_error = _STATUS_ERRORS.get(response.status_code)
            if driver_error is None:
                raise
            try:
                message = response.json().get("message", response.text)
            except (ValueError, AttributeError):
                message = response.text
            raise driver_error(message) from None  # as the driver does (its callers read the class)
        return response

    def close(self) -> None:
        self.session.close()


class MattermostApi:
    """The REST calls the bot makes, through mattermostdriver, with retries and our own errors."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        request_timeout: float = 10.0,
        max_attempts: int = 5,
        max_wait: float = 60.0,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._driver = Driver(driver_options(url, token, request_timeout), client_cls=PooledClient)
        self._driver.client.token = token  # the driver only sets it in login(); set it up front
        self._max_attempts = max_attempts
        self._max_wait = max_wait
        self._sleep = sleep
        self.user_id = ""
        self.username = ""

    # --- retry policy ------------------------------------------------------------------------

    def _retryable(self, idempotent: bool) -> Callable[[BaseException], bool]:
        def check(exc: BaseException) -> bool:
            status = _status(exc)
            if status == 429:
                return True  # refused before doing anything: always safe to repeat
            if isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.ReadTimeout):
                return True  # could not connect: nothing was done
            return bool(idempotent and status in (502, 503, 504))

        return check

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if exc is not None and _status(exc) == 429:
            headers = getattr(getattr(exc, "response", None), "headers", {}) or {}
            try:
                reset = float(headers.get("X-Ratelimit-Reset", "1"))
            except ValueError:
                reset = 1.0
            log.warning("Mattermost rate limit hit; retrying in %.1fs", reset)
            return min(max(reset, 0.05), self._max_wait)
        return min(0.25 * 2.0 ** (state.attempt_number - 1), 5.0)

    def _call(self, what: str, fn: Callable[[], Any], idempotent: bool = False) -> Any:
        kwargs: dict[str, Any] = {}
        if self._sleep is not None:
            kwargs["sleep"] = self._sleep
        retrying = Retrying(
            retry=retry_if_exception(self._retryable(idempotent)),
            wait=self._wait,
            stop=stop_after_attempt(self._max_attempts),
            reraise=True,
            **kwargs,
        )
        try:
            return retrying(fn)
        except requests.RequestException as exc:
            status = _status(exc)
            raise MattermostError(
                f"Mattermost {what} failed" + (f" (HTTP {status})" if status else "") + f": {exc}", status
            ) from exc

    # --- calls -------------------------------------------------------------------------------

    def login(self) -> dict[str, Any]:
        """``GET /users/me`` with the bot token (what ``Driver.login()`` does)."""
        try:
            me = self._call("login (GET /users/me)", self._driver.login, idempotent=True)
        except PlatformError as exc:
            if isinstance(exc.__cause__, NoAccessTokenProvided):
                raise ConfigError(
                    "MATTERMOST_BOT_TOKEN was refused by Mattermost (401): check the bot's access token"
                ) from None
            raise
        if not isinstance(me, dict) or "id" not in me:
            raise PlatformError("Mattermost GET /users/me did not answer with a user (is MATTERMOST_URL right?)")
        self.user_id, self.username = str(me["id"]), str(me.get("username", ""))
        return me

    def create_post(self, body: Mapping[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST /posts", lambda: self._driver.posts.create_post(dict(body)))
        return result

    def patch_post(self, post_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "PUT /posts/{id}/patch",
            lambda: self._driver.posts.patch_post(post_id, dict(body)),
            idempotent=True,
        )
        return result

    def ephemeral_post(self, user_id: str, post: Mapping[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "POST /posts/ephemeral",
            lambda: self._driver.posts.create_ephemeral_post({"user_id": user_id, "post": dict(post)}),
        )
        return result

    def upload_file(self, channel_id: str, filename: str, data: bytes, mime_type: str) -> str:
        result = self._call(
            "POST /files",
            lambda: self._driver.files.upload_file(channel_id, {"files": (filename, data, mime_type)}),
        )
        try:
            return str(result["file_infos"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise PlatformError(f"Mattermost POST /files answered without a file id: {result!r}") from None

    def direct_channel(self, user_id: str) -> str:
        """``POST /channels/direct``: the direct-message channel between the bot and ``user_id``
        (created, or the existing one returned); needs :meth:`login` first (the bot's own id)."""
        if not self.user_id:
            raise PlatformError("Mattermost POST /channels/direct needs the bot's user id: call login() first")
        result = self._call(
            "POST /channels/direct",
            lambda: self._driver.channels.create_direct_message_channel([self.user_id, user_id]),
            idempotent=True,
        )
        try:
            return str(result["id"])
        except (KeyError, TypeError):
            raise PlatformError(f"Mattermost POST /channels/direct answered without a channel id: {result!r}") from None

    def open_dialog(self, trigger_id: str, body: Mapping[str, Any]) -> None:
        self._call(
            "POST /actions/dialogs/open",
            lambda: self._driver.client.post("/actions/dialogs/open", options={"trigger_id": trigger_id, **body}),
        )

    def team_by_name(self, name: str) -> dict[str, Any]:
        result = self._call(
            f"GET /teams/name/{name}", lambda: self._driver.teams.get_team_by_name(name), idempotent=True
        )
        if not isinstance(result, dict):
            raise PlatformError(f"Mattermost GET /teams/name/{name} did not answer with JSON")
        return result

    def list_commands(self, team_id: str) -> list[dict[str, Any]]:
        result = self._call(
            "GET /commands",
            lambda: self._driver.client.get("/commands", params={"team_id": team_id, "custom_only": "true"}),
            idempotent=True,
        )
        if not isinstance(result, list):
            raise PlatformError("Mattermost GET /commands did not answer with a list")
        return result

    def create_command(self, body: Mapping[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "POST /commands", lambda: self._driver.client.post("/commands", options=dict(body))
        )
        return result

    def update_command(self, command_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        # Not Commands.update_command: in 7.3.2 it builds '/commands' + id without the slash.
        result: dict[str, Any] = self._call(
            "PUT /commands/{id}",
            lambda: self._driver.client.put(f"/commands/{command_id}", options=dict(body)),
            idempotent=True,
        )
        return result
