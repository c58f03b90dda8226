#!/bin/sh
# The e2e tests (test/e2e) drive Debian's Chromium through playwright-core; they fail when it is missing.
# .ci/run should call this before `npm test`. Never `npx playwright install`: that downloads from outside Debian.
set -e
if [ ! -x /usr/bin/chromium ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
fi
/usr/bin/chromium --version
