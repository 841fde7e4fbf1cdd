"""bot.store.connect on one node: ACL users and passwords in REDIS_URL, TLS with a private CA and client
certificates (real redis-servers built with TLS, Debian's), and the settings' rules for the modes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.app import build_store
from bot.config import load_settings, parse_host_ports
from bot.core.session import RUNNING
from bot.errors import ConfigError, StoreError
from bot.store.connect import RedisTarget, connect, redacted
from bot.store.store import Store
from tests.conftest import make_record
from tests.store.redis_nodes import HOST, Certificates, Node, make_certificates, start_node, tls_lines

PASSWORD = "pw-for-the-bot-0123"
# The bot's ACL user, as the README recommends it: its prefix only, data and scripts, no admin commands.
BOT_ACL = f"user smc on >{PASSWORD} resetchannels ~smc:* -@all +@read +@write +@scripting +ping +time +wait -@dangerous"


def round_trip(store: Store) -> None:
    """A check created and read back through the store: scripts (EVALSHA) and plain commands."""
    record = make_record(channel="console:local:acl")
    assert store.create(record).ok
    loaded = store.load_running(record.meta.channel)
    assert loaded is not None and loaded.id == record.id and loaded.meta.status == RUNNING
    assert store.claim_once(f"mark-{record.id}") is True


# --- passwords and ACL users -----------------------------------------------------------------


@pytest.fixture(scope="module")
def acl_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    node = start_node(
        tmp_path_factory.mktemp("acl"),
        "acl",
        lambda port: [f"port {port}", 'save ""', "appendonly no", "user default off", BOT_ACL],
    )
    yield node
    node.stop()


@pytest.fixture(scope="module")
def password_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    node = start_node(
        tmp_path_factory.mktemp("requirepass"),
        "requirepass",
        lambda port: [f"port {port}", 'save ""', "appendonly no", f"requirepass {PASSWORD}"],
    )
    yield node
    node.stop()


def test_an_acl_user_and_password_in_redis_url_are_used(acl_node: Node) -> None:
    store = Store.from_url(f"redis://smc:{PASSWORD}@{HOST}:{acl_node.port}/0", prefix="smc")
    try:
        store.preload_scripts()
        round_trip(store)
    finally:
        store.close()
    # The ACL holds: the same user outside its prefix is refused.
    outside = Store.from_url(f"redis://smc:{PASSWORD}@{HOST}:{acl_node.port}/0", prefix="other")
    try:
        with pytest.raises(StoreError, match="no permissions"):
            outside.create(make_record())
    finally:
        outside.close()


@pytest.mark.parametrize("credentials", ["", "smc:wrong-password@", "nobody:x@"])
def test_no_or_wrong_credentials_are_a_store_error_that_hides_the_password(acl_node: Node, credentials: str) -> None:
    store = Store.from_url(f"redis://{credentials}{HOST}:{acl_node.port}/0", prefix="smc")
    try:
        assert store.ping() is False
        with pytest.raises(StoreError) as caught:
            store.create(make_record())
        assert "wrong-password" not in str(caught.value)
    finally:
        store.close()


def test_requirepass_in_redis_url(password_node: Node) -> None:
    store = Store.from_url(f"redis://:{PASSWORD}@{HOST}:{password_node.port}/0", prefix="smc")
    try:
        round_trip(store)
    finally:
        store.close()
    anonymous = Store.from_url(f"redis://{HOST}:{password_node.port}/0", prefix="smc")
    try:
        with pytest.raises(StoreError, match="(?i)auth"):
            anonymous.create(make_record())
    finally:
        anonymous.close()


# --- TLS -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def tls_node(tmp_path_factory: pytest.TempPathFactory, certs: Certificates) -> Iterator[Node]:
    """TLS only (``port 0``: nothing answers in plain text), client certificates required (Redis's default)."""
    node = start_node(
        tmp_path_factory.mktemp("tls"),
        "tls",
        lambda port: [*tls_lines(certs, port), 'save ""', "appendonly no", "user default off", BOT_ACL],
    )
    yield node
    node.stop()


def tls_env(node: Node, certs: Certificates, **extra: str) -> dict[str, str]:
    env = {
        "REDIS_URL": f"rediss://smc:{PASSWORD}@{HOST}:{node.port}/0",
        "REDIS_TLS_CA": str(certs.ca),
        "REDIS_TLS_CERT": str(certs.client_cert),
        "REDIS_TLS_KEY": str(certs.client_key),
    }
    env.update(extra)
    return {k: v for k, v in env.items() if v}


def test_rediss_with_a_private_ca_and_a_client_certificate(tls_node: Node, certs: Certificates) -> None:
    store = build_store(load_settings(tls_env(tls_node, certs)))  # what serve does: settings -> store
    try:
        assert store.ping() is True
        round_trip(store)
    finally:
        store.close()


def test_rediss_without_the_private_ca_fails_verification(tls_node: Node, certs: Certificates) -> None:
    store = Store.connect(load_settings(tls_env(tls_node, certs, REDIS_TLS_CA="")), prefix="smc")
    try:
        assert store.ping() is False
        # The system's CAs do not know the private one.
        with pytest.raises(StoreError, match="certificate verify failed"):
            store.load_running("console:local:acl")
    finally:
        store.close()


def test_rediss_without_a_client_certificate_is_turned_away(tls_node: Node, certs: Certificates) -> None:
    store = Store.connect(load_settings(tls_env(tls_node, certs, REDIS_TLS_CERT="", REDIS_TLS_KEY="")), prefix="smc")
    try:
        assert store.ping() is False
        with pytest.raises(StoreError, match="unreachable"):
            store.load_running("console:local:acl")
    finally:
        store.close()
    assert "peer did not return a certificate" in tls_node.log()  # why, as the server saw it


def test_tls_files_with_a_plain_url_are_refused(certs: Certificates) -> None:
    settings = load_settings({"REDIS_URL": "redis://127.0.0.1:6379/0", "REDIS_TLS_CA": str(certs.ca)})
    with pytest.raises(ConfigError, match="rediss://"):
        connect(settings)


def test_a_plain_url_reaches_no_tls_only_server(tls_node: Node) -> None:
    store = Store.from_url(f"redis://smc:{PASSWORD}@{HOST}:{tls_node.port}/0")
    try:
        assert store.ping() is False
    finally:
        store.close()


# --- the modes and their settings ------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["redis+sentinel", "rediss+sentinel", "sentinel"])
def test_a_sentinel_url_is_refused_with_the_settings_to_use(scheme: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Store.from_url(f"{scheme}://:secret@sentinel-1:26379/mymaster")
    message = str(caught.value)
    assert "SMC_REDIS_MODE=sentinel" in message and "REDIS_SENTINELS" in message and "REDIS_SENTINEL_MASTER" in message
    assert "secret" not in message


def test_cluster_mode_needs_a_node_url() -> None:
    with pytest.raises(ConfigError, match="SMC_REDIS_MODE=cluster needs REDIS_URL"):
        build_store(load_settings({"SMC_REDIS_MODE": "cluster"}))
    with pytest.raises(ConfigError, match="redis:// or rediss://"):
        build_store(load_settings({"SMC_REDIS_MODE": "cluster", "REDIS_URL": "unix:///tmp/redis.sock"}))


def test_standalone_is_the_default_and_needs_redis_url() -> None:
    settings = load_settings({})
    assert settings.redis_mode == "standalone"
    with pytest.raises(ConfigError, match="REDIS_URL is required"):
        build_store(settings)


def test_an_invalid_url_is_a_store_error_without_its_password() -> None:
    with pytest.raises(StoreError, match="invalid Redis URL") as caught:
        Store.from_url("http://user:hunter2@example.com")
    assert "hunter2" not in str(caught.value)
    assert redacted("rediss://smc:hunter2@redis.example:6380/0") == "rediss://smc:***@redis.example:6380/0"
    assert redacted("redis://redis:6379/0") == "redis://redis:6379/0"


SENTINEL_ENV = {"SMC_REDIS_MODE": "sentinel", "REDIS_SENTINELS": "s1:26379,s2:26379", "REDIS_SENTINEL_MASTER": "smc"}


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"SMC_REDIS_MODE": "sentinel"}, "needs REDIS_SENTINELS and REDIS_SENTINEL_MASTER"),
        ({"SMC_REDIS_MODE": "sentinel", "REDIS_SENTINELS": "s1:26379"}, "needs REDIS_SENTINEL_MASTER"),
        ({**SENTINEL_ENV, "REDIS_URL": "redis://r:6379/0"}, "unset REDIS_URL"),
        ({"REDIS_URL": "redis://r:6379/0", "REDIS_PASSWORD": "x"}, "REDIS_PASSWORD: only used with"),
        ({"REDIS_SENTINELS": "s1:26379"}, "REDIS_SENTINELS: only used with SMC_REDIS_MODE=sentinel"),
        ({"REDIS_WAIT_REPLICAS": "0"}, "REDIS_WAIT_REPLICAS: only used with"),
        ({"REDIS_TLS": "true"}, "REDIS_TLS: only used with"),
        ({"SMC_REDIS_MODE": "replicated"}, "SMC_REDIS_MODE"),
        ({**SENTINEL_ENV, "REDIS_SENTINELS": "s1:26379,,s2:26379"}, "REDIS_SENTINELS: .*is not host:port"),
        ({**SENTINEL_ENV, "REDIS_SENTINELS": "s1"}, "REDIS_SENTINELS: .*is not host:port"),
        ({**SENTINEL_ENV, "REDIS_SENTINELS": "s1:0"}, "from 1 to 65535"),
        ({**SENTINEL_ENV, "REDIS_SENTINELS": "s1:65536"}, "from 1 to 65535"),
        ({**SENTINEL_ENV, "REDIS_SENTINELS": "s1:026379"}, "from 1 to 65535"),
        ({**SENTINEL_ENV, "REDIS_SENTINELS": "::1:26379"}, "is not host:port"),
        ({**SENTINEL_ENV, "REDIS_SENTINELS": "[1::2::3]:26379"}, "is not an IPv6 address"),
        ({**SENTINEL_ENV, "REDIS_SENTINELS": "-s1:26379"}, "not a host name"),
        ({**SENTINEL_ENV, "REDIS_SENTINELS": "s1:26379,s1:26379"}, "listed twice"),
        ({**SENTINEL_ENV, "REDIS_SENTINEL_MASTER": "my master"}, "REDIS_SENTINEL_MASTER"),
        ({**SENTINEL_ENV, "REDIS_WAIT_REPLICAS": "-1"}, "REDIS_WAIT_REPLICAS"),
        ({**SENTINEL_ENV, "REDIS_TLS_CA": "/no/such/ca.pem"}, "REDIS_TLS_CA: .*is not a file"),
    ],
)
def test_redis_settings_are_checked_at_start_up(env: dict[str, str], error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        load_settings(env)


def test_sentinel_settings_are_read(certs: Certificates) -> None:
    settings = load_settings(
        {
            **SENTINEL_ENV,
            "REDIS_SENTINELS": " s1.example:26379, 10.0.0.2:26380 ,[fd00::3]:26381",
            "REDIS_USERNAME": "smc",
            "REDIS_PASSWORD": "p",
            "REDIS_SENTINEL_PASSWORD": "",  # empty is unset
            "REDIS_TLS": "true",
            "REDIS_TLS_CA": str(certs.ca),
        }
    )
    assert settings.redis_sentinels == (("s1.example", 26379), ("10.0.0.2", 26380), ("fd00::3", 26381))
    assert (settings.redis_username, settings.redis_password, settings.redis_sentinel_password) == ("smc", "p", None)
    assert settings.redis_tls and settings.redis_wait_replicas == 1
    with pytest.raises(ConfigError, match="REDIS_TLS_CERT and REDIS_TLS_KEY go together"):
        load_settings({**SENTINEL_ENV, "REDIS_TLS": "true", "REDIS_TLS_CERT": str(certs.client_cert)})


def test_a_target_without_sentinels_is_refused() -> None:
    with pytest.raises(ConfigError, match="needs REDIS_SENTINELS"):
        connect(RedisTarget(redis_mode="sentinel"))


_HOSTS = st.one_of(
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?){0,3}", fullmatch=True),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
)


@given(st.lists(st.tuples(_HOSTS, st.integers(1, 65535)), min_size=1, max_size=5, unique=True))
def test_host_port_lists_read_back_what_was_written(entries: list[tuple[str, int]]) -> None:
    text = ", ".join(f"{host}:{port}" for host, port in entries)
    assert parse_host_ports(text) == tuple((host.strip("[]"), port) for host, port in entries)


@given(st.text(alphabet=st.sampled_from("ab1:[],. -"), max_size=20))
def test_host_port_lists_accept_only_host_port(text: str) -> None:
    try:
        parsed = parse_host_ports(text)
    except ValueError:
        return
    assert parsed and all(host and 1 <= port <= 65535 for host, port in parsed)
    assert len(text.split(",")) == len(parsed)
