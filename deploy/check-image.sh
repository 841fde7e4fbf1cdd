#!/usr/bin/env bash
# Build the bot's container image and run it for real: the check behind `make image-check`.
#
#   deploy/check-image.sh            (as root, or with sudo; Debian/Ubuntu: it apt-installs what it needs)
#
# No container registry is reachable on the project's machines, so the base image is made here:
# a Debian bookworm root filesystem with python3.11 + venv (debootstrap), imported into podman as the
# stand-in for python:3.11-slim, and cached as a tarball under $SMC_CACHE_DIR (default
# ~/.cache/socialmedia-check). Then:
#   build the image (deploy/Dockerfile, --from the local base) -> look inside it (user, command,
#   healthcheck, no compiler or pip) -> start a redis-server and a fake Slack Web API on loopback ->
#   start the image against them (read-only root fs, all capabilities dropped) -> wait for /readyz ->
#   run its HEALTHCHECK -> a correctly signed /socialmedia-check help gets 200 and its answer reaches
#   the fake Slack (and a forged one gets 401) -> SIGTERM -> the container drains and exits 0 within
#   SMC_SHUTDOWN_GRACE.
# Every step prints how long it took; the first one that fails stops the script with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

PY=${PYTHON:-$ROOT/.venv/bin/python}   # the test virtualenv: the fake Slack lives in tests/fakes
CACHE=${SMC_CACHE_DIR:-$HOME/.cache/socialmedia-check}
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE=localhost/smc-python-base:3.11-$SUITE
BASE_TAR=$CACHE/python-base-3.11-$SUITE.tar
IMAGE=${SMC_IMAGE:-localhost/socialmedia-check:check}
GRACE=10                              # SMC_SHUTDOWN_GRACE inside the container, seconds
# The machines' limits are lower than podman's defaults; runc refuses limits above the hard ones.
ULIMITS=(--ulimit "nofile=${SMC_ULIMIT_NOFILE:-16384}:${SMC_ULIMIT_NOFILE:-16384}"
         --ulimit "nproc=${SMC_ULIMIT_NPROC:-16384}:${SMC_ULIMIT_NPROC:-16384}")
PODMAN=(podman --runtime runc --cgroup-manager cgroupfs)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/smc-image-check.XXXXXX")
NAME=smc-image-check-$$
REDIS_PID="" FAKE_PID=""

exec 3>&2   # die() writes here, so its reason shows even inside a silenced wait_for
say() { printf '%s\n' "image-check: $*"; }
die() {
  printf '%s\n' "image-check: FAILED: $*" >&3
  exit 1
}
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

cleanup() {
  local status=$?
  # fd 3: the script's stderr even when the failure happened inside a silenced wait_for.
  if [ "$status" -ne 0 ] && "${PODMAN[@]}" container exists "$NAME" 2>/dev/null; then
    echo "---- the container's log (last 40 lines) ----" >&3
    "${PODMAN[@]}" logs --tail 40 "$NAME" >&3 2>&3 || true
  fi
  "${PODMAN[@]}" rm --force --time 0 "$NAME" >/dev/null 2>&1 || true
  [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
  [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
  rm -rf "$WORK"
  return "$status"
}
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wait_for SECONDS DESCRIPTION COMMAND...: run COMMAND until it succeeds, at most SECONDS.
wait_for() {
  local limit=$1 what=$2 deadline
  shift 2
  deadline=$(($(date +%s) + limit))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || die "$what: not within $limit s"
    sleep 0.2
  done
}

TOTAL=$(now)

# --- 1. tools ------------------------------------------------------------------------------------
t=$(now)
[ "$(id -u)" -eq 0 ] || die "run as root (podman builds and debootstrap need it): sudo $0"
[ -x "$PY" ] || die "$PY is missing: run 'make image-check' (it installs the test virtualenv) or set PYTHON"
missing=""
for pair in podman:podman runc:runc debootstrap:debootstrap redis-server:redis-server curl:curl; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing="$missing ${pair#*:}"
done
if [ -n "$missing" ]; then
  command -v apt-get >/dev/null 2>&1 || die "missing:$missing, and no apt-get to install them with"
  say "installing:$missing"
  apt-get update -qq || die "apt-get update failed"
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null || die "apt-get install$missing failed"
fi
"$PY" -c 'import tests.fakes.slack_api' 2>/dev/null \
  || die "$PY cannot import tests.fakes (needs the test extra: pip install -e '.[test]')"
say "1/9 tools ready: $(podman --version) ($(took "$t"))"

# --- 2. the base image (stand-in for python:3.11-slim) -------------------------------------------
# Two layers: Debian itself (debootstrap, cached as a tarball: the slow part, done once), and on top
# this machine's CA bundle with PIP_CERT pointing at it. pip trusts its own certifi bundle, not the
# system's, and here TLS to PyPI is re-signed by a local CA; elsewhere the bundle is Debian's anyway.
# The label tells when the machine's bundle changed, so that layer is remade (in seconds).
t=$(now)
HOST_CA=${SMC_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
[ -s "$HOST_CA" ] || die "no CA bundle at $HOST_CA (set SMC_CA_BUNDLE)"
ca_sum=$(sha256sum "$HOST_CA" | cut -c1-16)
if [ "$("${PODMAN[@]}" image inspect --format '{{index .Config.Labels "smc.ca-sha256"}}' "$BASE" 2>/dev/null)" = "$ca_sum" ]; then
  how="already in podman's storage"
else
  how="imported from $BASE_TAR"
  if [ ! -s "$BASE_TAR" ]; then
    mkdir -p "$CACHE"
    rootfs=$WORK/rootfs
    debootstrap --variant=minbase --include=python3.11,python3.11-venv,python3-venv,ca-certificates \
      "$SUITE" "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
      || { tail -20 "$WORK/debootstrap.log" >&2; die "debootstrap of Debian $SUITE from $MIRROR failed"; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -cf "$BASE_TAR.partial" . || die "could not pack the base root filesystem"
    mv "$BASE_TAR.partial" "$BASE_TAR"
    how="debootstrapped, cached as $BASE_TAR"
  fi
  "${PODMAN[@]}" import --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' "$BASE_TAR" "$BASE-debian" \
    >"$WORK/import.log" 2>&1 || { cat "$WORK/import.log" >&2; die "podman import of $BASE_TAR failed"; }
  mkdir -p "$WORK/base"
  cp "$HOST_CA" "$WORK/base/ca-certificates.crt"
  printf '%s\n' "FROM $BASE-debian" "COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt" \
    "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt" "LABEL smc.ca-sha256=$ca_sum" >"$WORK/base/Containerfile"
  "${PODMAN[@]}" build --pull=never --tag "$BASE" "$WORK/base" >"$WORK/base.log" 2>&1 \
    || { tail -20 "$WORK/base.log" >&2; die "could not add the CA bundle to $BASE"; }
fi
"${PODMAN[@]}" run --rm "${ULIMITS[@]}" "$BASE" python3 -c 'import sys, venv; assert sys.version_info[:2] == (3, 11)' \
  || die "the base image $BASE has no working python3.11 with venv (delete $BASE_TAR to rebuild it)"
say "2/9 base image $BASE: $how ($(took "$t"))"

# --- 3. the product image -------------------------------------------------------------------------
t=$(now)
previous=$("${PODMAN[@]}" image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
# --from replaces the Dockerfile's one `FROM python:3.11-slim`; --format docker keeps HEALTHCHECK;
# --network host only for pip's downloads during the build.
"${PODMAN[@]}" build --from "$BASE" --pull=never --format docker --network host "${ULIMITS[@]}" \
  --file deploy/Dockerfile --ignorefile deploy/Dockerfile.dockerignore --tag "$IMAGE" . \
  >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log" >&2; die "podman build failed (log above)"; }
current=$("${PODMAN[@]}" image inspect --format '{{.Id}}' "$IMAGE")
# The image this run replaced under the same tag (not the build cache, which the next run reuses).
if [ -n "$previous" ] && [ "$previous" != "$current" ]; then "${PODMAN[@]}" rmi "$previous" >/dev/null 2>&1 || true; fi
size=$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }')
say "3/9 built $IMAGE, $size ($(took "$t"))"

# --- 4. inside the image --------------------------------------------------------------------------
t=$(now)
user=$("${PODMAN[@]}" image inspect --format '{{.Config.User}}' "$IMAGE")
[ "$user" = "10001:10001" ] || die "the image runs as '$user', not the unprivileged 10001:10001"
cmd=$("${PODMAN[@]}" image inspect --format '{{join .Config.Entrypoint " "}} {{join .Config.Cmd " "}}' "$IMAGE")
[ "$cmd" = "dumb-init -- socialmedia-check serve" ] || die "the image's command is '$cmd'"
"${PODMAN[@]}" image inspect --format '{{.Config.Healthcheck.Test}}' "$IMAGE" | grep -q healthcheck.py \
  || die "the image lost its HEALTHCHECK (built without --format docker?)"
"${PODMAN[@]}" run --rm --no-healthcheck "${ULIMITS[@]}" --entrypoint sh "$IMAGE" -c '
  for tool in gcc cc c++ make; do command -v "$tool" && exit 1; done
  ! python3 -c "import pip" 2>/dev/null && [ ! -e /opt/venv/bin/pip ] && [ ! -e /opt/app/bin/pip ]' >/dev/null \
  || die "the final stage holds a build tool (a compiler, make, or pip in /opt/venv or /opt/app)"
# matplotlib builds its font cache under MPLCONFIGDIR=/tmp: fine on a read-only root filesystem.
"${PODMAN[@]}" run --rm --no-healthcheck --read-only "${ULIMITS[@]}" "$IMAGE" \
  python3 -W error -c 'import matplotlib.font_manager as fm; fm.findfont("DejaVu Sans", fallback_to_default=False)' \
  || die "matplotlib cannot set itself up on a read-only root filesystem"
say "4/9 inside: user 10001, '$cmd', HEALTHCHECK, no compiler or pip, read-only root fs fine ($(took "$t"))"

# --- 5. Redis and the fake Slack on loopback ------------------------------------------------------
t=$(now)
REDIS_PORT=$(free_port)
mkdir -p "$WORK/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/redis" --save '' --appendonly no \
  >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
wait_for 10 "redis-server on 127.0.0.1:$REDIS_PORT answering PING" \
  "$PY" -c "import redis, sys; sys.exit(not redis.Redis(port=$REDIS_PORT).ping())"
"$PY" -m tests.deploy.image_peer fake --state "$WORK/slack" >"$WORK/fake.log" 2>&1 &
FAKE_PID=$!
wait_for 15 "the fake Slack Web API starting" test -s "$WORK/slack/api_url"
SLACK_API_URL=$(cat "$WORK/slack/api_url")
say "5/9 redis-server on :$REDIS_PORT, fake Slack at $SLACK_API_URL ($(took "$t"))"

# --- 6. the container, up and ready ---------------------------------------------------------------
t=$(now)
BOT_PORT=$(free_port)
SECRET=$("$PY" -c 'import secrets; print(secrets.token_hex(16))')
# Without systemd, podman cannot schedule the HEALTHCHECK (it says so on stderr: kept in run.log);
# step 7 runs it by hand instead.
"${PODMAN[@]}" run --detach --name "$NAME" --network host --read-only --cap-drop ALL --health-interval disable \
  --security-opt no-new-privileges "${ULIMITS[@]}" \
  -e "REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0" -e HOST=127.0.0.1 -e "PORT=$BOT_PORT" \
  -e "SLACK_BOT_TOKEN=xoxb-image-check" -e "SLACK_SIGNING_SECRET=$SECRET" -e "SLACK_API_URL=$SLACK_API_URL" \
  -e "SMC_SHUTDOWN_GRACE=$GRACE" "$IMAGE" >"$WORK/run.log" 2>&1 || { cat "$WORK/run.log" >&2; die "podman run failed"; }
ready() {
  [ "$("${PODMAN[@]}" inspect --format '{{.State.Running}}' "$NAME")" = true ] \
    || die "the container stopped while starting (exit $("${PODMAN[@]}" inspect --format '{{.State.ExitCode}}' "$NAME"))"
  curl --silent --fail --max-time 2 "http://127.0.0.1:$BOT_PORT/readyz"
}
wait_for 60 "GET /readyz answering 200" ready
say "6/9 the container answers /readyz with 200 ($(took "$t"))"

# --- 7. the image's own HEALTHCHECK ----------------------------------------------------------------
t=$(now)
"${PODMAN[@]}" healthcheck run "$NAME" >/dev/null || die "podman healthcheck run: the HEALTHCHECK failed"
mem=$("${PODMAN[@]}" stats --no-stream --format '{{.MemUsage}}' "$NAME" 2>/dev/null | cut -d/ -f1 || true)
say "7/9 HEALTHCHECK healthy; memory in use: ${mem:-unknown} ($(took "$t"))"

# --- 8. a signed Slack command ---------------------------------------------------------------------
t=$(now)
"$PY" -m tests.deploy.image_peer slash --bot "http://127.0.0.1:$BOT_PORT" --secret "$SECRET" \
  --state "$WORK/slack" --timeout 20 >"$WORK/slash.out" 2>&1 \
  || { cat "$WORK/slash.out" >&2; die "the signed /socialmedia-check help was not answered as Slack expects"; }
say "8/9 $(tail -1 "$WORK/slash.out") ($(took "$t"))"

# --- 9. SIGTERM drains, exit 0 within the grace period ----------------------------------------------
t=$(now)
"${PODMAN[@]}" kill --signal TERM "$NAME" >/dev/null || die "podman kill --signal TERM failed"
code=$(timeout $((GRACE + 5)) "${PODMAN[@]}" wait "$NAME") \
  || die "the container was still running $((GRACE + 5)) s after SIGTERM (grace: $GRACE s)"
stopped=$(took "$t")
[ "$code" = 0 ] || die "the container exited $code after SIGTERM, not 0"
awk -v s="${stopped% s}" -v g="$GRACE" 'BEGIN { exit !(s <= g) }' \
  || die "the container took $stopped to stop, longer than SMC_SHUTDOWN_GRACE=$GRACE s"
"${PODMAN[@]}" logs "$NAME" >"$WORK/bot.log" 2>&1 || die "podman logs failed"
grep -q "SIGTERM: draining" "$WORK/bot.log" \
  || die "exit 0, but the bot never logged 'SIGTERM: draining' (bot/app.py): did the signal reach it?"
! grep -q "shutdown did not finish" "$WORK/bot.log" \
  || die "the bot exited 0 only because its grace period ran out, not after a clean drain"
say "9/9 SIGTERM: drained and exited 0 in $stopped (grace $GRACE s)"

say "all good in $(took "$TOTAL")"
