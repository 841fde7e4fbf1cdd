#!/usr/bin/env sh
# Make sure a redis-server binary is installed (the console and the tests start their own).
set -eu
if command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || [ -x /usr/sbin/redis-server ]; then
  exit 0
fi
echo "redis-server is not installed; installing it…" >&2
if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
  # Debian starts a system-wide service on install; the bot needs none (it runs its own).
elif command -v brew >/dev/null 2>&1; then
  brew install redis
elif command -v dnf >/dev/null 2>&1; then
  sudo dnf install -y redis
else
  echo "Could not install redis-server automatically. Install it with your package manager" >&2
  echo "(Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis)," >&2
  echo "or set REDIS_URL to a Redis you already run." >&2
  exit 1
fi
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || {
  echo "redis-server is still not on PATH after installing it." >&2; exit 1; }
