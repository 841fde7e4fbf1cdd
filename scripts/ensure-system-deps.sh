#!/usr/bin/env sh
# Install the system programs the bot (and, with "test", its test suite) needs when they are missing:
# redis-server (the console and the tests start their own), and for the tests jq and curl
# (they run deploy/mattermost/mattermost-setup.sh against a fake Mattermost).
set -eu
need_redis=1
if command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || [ -x /usr/sbin/redis-server ]; then
  need_redis=0
fi
debs="" brews=""
[ "$need_redis" -eq 1 ] && debs="redis-server" brews="redis"
if [ "${1:-}" = "test" ]; then
  for tool in jq curl openssl; do
    command -v "$tool" >/dev/null 2>&1 || { debs="$debs $tool"; brews="$brews $tool"; }
  done
  # redis-sentinel: tests/store/test_sentinel.py runs a primary, a replica and three sentinels (openssl: their TLS)
  if ! command -v redis-sentinel >/dev/null 2>&1 && [ ! -x /usr/bin/redis-sentinel ]; then
    debs="$debs redis-sentinel" brews="$brews redis"
  fi
  # headless Chromium renders the HTML export in the tests (Debian's package; elsewhere the test says it is skipped)
  if command -v apt-get >/dev/null 2>&1 && ! command -v chromium >/dev/null 2>&1; then debs="$debs chromium"; fi
fi
[ -z "$debs" ] && exit 0

echo "installing:$debs" >&2
if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $debs >/dev/null
elif command -v brew >/dev/null 2>&1; then
  # shellcheck disable=SC2086
  brew install $brews
else
  echo "Could not install$debs automatically: install them with your package manager" >&2
  echo "(Debian/Ubuntu: apt-get install -y$debs; macOS: brew install$brews)." >&2
  echo "For the bot alone, REDIS_URL may instead point at a Redis you already run." >&2
  exit 1
fi
if ! command -v redis-server >/dev/null 2>&1 && [ ! -x /usr/bin/redis-server ]; then
  echo "redis-server is still missing after the install." >&2
  exit 1
fi
