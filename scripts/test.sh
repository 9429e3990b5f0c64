#!/usr/bin/env bash
# Runs the whole suite. Uses PostgreSQL and Redis on 127.0.0.1 when they answer, SQLite and an
# in-process broker otherwise (saying so). REQUIRE_SERVICES=1 turns a missing service into a failure.
set -uo pipefail
PY=${PY:-.venv/bin/python}
require=${REQUIRE_SERVICES:-0}
missing=()

probe() { "$PY" - "$@" <<'PYEOF'
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
try:
    socket.create_connection((host, port), timeout=2).close()
except OSError:
    sys.exit(1)
PYEOF
}

if [ -z "${DATABASE_URL:-}" ]; then
    if probe 127.0.0.1 5432; then
        export DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
        echo "test: PostgreSQL at 127.0.0.1:5432"
    else
        missing+=("PostgreSQL (127.0.0.1:5432)")
        echo "test: PostgreSQL is not reachable; running on SQLite"
    fi
fi
if [ -z "${TEST_REDIS_URL:-}" ]; then
    if probe 127.0.0.1 6379; then
        # Database 15 keeps test traffic apart from a development worker's queue.
        export TEST_REDIS_URL=redis://127.0.0.1:6379/15
        echo "test: Redis at 127.0.0.1:6379"
    else
        missing+=("Redis (127.0.0.1:6379)")
        echo "test: Redis is not reachable; the worker tests use the in-process broker"
    fi
fi
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "test: installing Debian's chromium for the browser tests"
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
            || echo "test: could not install chromium"
    fi
    [ -x "${CHROMIUM:-/usr/bin/chromium}" ] || {
        missing+=("Chromium (/usr/bin/chromium; install with: sudo apt-get install chromium)")
        echo "test: no chromium; the browser tests will be skipped (sudo apt-get install chromium)"
    }
fi
if [ "$require" = 1 ] && [ ${#missing[@]} -gt 0 ]; then
    printf 'test: REQUIRE_SERVICES=1 but missing: %s\n' "${missing[@]}" >&2
    exit 2
fi
export REQUIRE_SERVICES=$require
# Uploads, broker folders and the SQLite file of a test run live in a throw-away folder.
export VAR_DIR=${VAR_DIR:-$(mktemp -d -t retention-crm-test.XXXXXX)}
if [ -n "${TEST_REDIS_URL:-}" ]; then export CELERY_BROKER_URL=$TEST_REDIS_URL; fi
exec "$PY" -m pytest "$@"
