#!/usr/bin/env bash
# `npm test` runs this first (pretest): the suites need Chromium, the DejaVu fonts and a Redis on 127.0.0.1:6379.
# As root with apt (a fresh Debian machine, CI, a container) it installs what is missing and starts Redis; otherwise it
# says in one line what to install, and stops (Chromium, fonts) or lets the Redis tests skip loudly.
# CARAFE_CHROMIUM points the browser tests at another Chromium; CARAFE_TEST_DEPS=skip bypasses this script.
set -euo pipefail

[ "${CARAFE_TEST_DEPS:-}" = skip ] && exit 0

CHROMIUM=${CARAFE_CHROMIUM:-/usr/bin/chromium}
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
REDIS_PORT=6379

have() { [ -x "$(command -v "$1")" ]; }
can_apt() { [ "$(id -u)" = 0 ] && have apt-get; }

redis_answers() {
  # bash's /dev/tcp, so no redis-cli is needed to ask
  { exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT"; } 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  local reply=''
  read -r -t 2 reply <&3 || true
  exec 3>&-
  [[ $reply == +PONG* ]]
}

missing=() # Debian packages
# a CARAFE_CHROMIUM of one's own is not apt's to install
[ -x "$CHROMIUM" ] || [ "$CHROMIUM" != /usr/bin/chromium ] || missing+=(chromium)
[ -f "$FONT" ] || missing+=(fonts-dejavu-core)
redis_answers || have redis-server || missing+=(redis-server)

if [ ${#missing[@]} -gt 0 ] && can_apt; then
  echo "test-deps: installing ${missing[*]} from Debian (apt-get)"
  log=${TMPDIR:-/tmp}/carafe-test-deps-apt.log
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1 ||
    echo "test-deps: apt-get could not install ${missing[*]} (see $log)" >&2
fi

if [ ! -x "$CHROMIUM" ]; then
  echo "test-deps: Chromium not found at $CHROMIUM: install it (Debian: sudo apt-get install chromium) or set CARAFE_CHROMIUM" >&2
  exit 1
fi
if [ ! -f "$FONT" ]; then
  echo "test-deps: DejaVu fonts not found ($FONT): install them (Debian: sudo apt-get install fonts-dejavu-core)" >&2
  exit 1
fi

if ! redis_answers; then
  if have redis-server; then
    echo "test-deps: starting redis-server on 127.0.0.1:$REDIS_PORT (no persistence)"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no >/dev/null || true
    for _ in $(seq 50); do redis_answers && break; sleep 0.1; done
  fi
  redis_answers ||
    echo "test-deps: no Redis on 127.0.0.1:$REDIS_PORT and none could be started: the Redis tests will skip (install redis-server to run them)"
fi
exit 0
