#!/usr/bin/env bash
# Starts the whole app: a Celery worker with beat embedded, and a web server.
#   run.sh serve   gunicorn, as `make run` runs the product (DJANGO_ENV=local: DEBUG off, static
#                  files collected and served by WhiteNoise)
#   run.sh dev     Django's auto-reloading development server, DEBUG on (`make dev`)
# Ctrl-C (or SIGTERM) stops everything within a few seconds: the web server at once, the worker
# with a cold shutdown (a task still running gets CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT seconds,
# then goes back to the queue), and whatever is still alive after STOP_SECONDS is killed.
set -euo pipefail
mode=${1:-serve}
PY=${PY:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
STOP_SECONDS=${STOP_SECONDS:-8}
BIN=$(dirname "$PY")
VAR=${VAR_DIR:-var}
mkdir -p "$VAR/log"

# Each background job in a process group of its own: the terminal's Ctrl-C reaches this script
# only, which stops the others in order, and a group can be killed whole (pool and beat children).
set -m

# Gossip, mingle and heartbeats talk to other workers; alone, they only slow the start and the stop.
"$BIN/celery" -A retention_crm worker --beat --loglevel=INFO --concurrency=2 \
    --without-gossip --without-mingle --without-heartbeat \
    --schedule="$VAR/celerybeat-schedule" >"$VAR/log/worker.log" 2>&1 &
worker=$!

if [ "$mode" = dev ]; then
    "$PY" manage.py runserver "$HOST:$PORT" &
else
    # The workers' heartbeat files in memory where there is /dev/shm (Linux), not on a disk or an
    # overlay file system (gunicorn's advice for containers).
    tmp_dir=()
    [ -d /dev/shm ] && tmp_dir=(--worker-tmp-dir /dev/shm)
    # 8 threads a worker: the survey page's answers written by one statement for the threads that
    # answer together (group commit) carry about four answers instead of two with 4 threads, for a
    # few percent off a trivial view's rate (docs/benchmarks.md, "Survey answers").
    "$BIN/gunicorn" retention_crm.wsgi:application --bind "$HOST:$PORT" --workers 2 --threads 8 \
        ${tmp_dir[@]+"${tmp_dir[@]}"} --no-control-socket --access-logfile - --error-logfile - &
fi
web=$!

alive() { kill -0 -- "-$1" 2>/dev/null; }

stop() {
    trap '' INT TERM
    trap - EXIT
    echo
    echo "  Stopping the web server and the worker..."
    kill -INT -- "-$web" 2>/dev/null || true
    kill -QUIT "$worker" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_SECONDS))
    while { alive "$web" || alive "$worker"; } && [ "$SECONDS" -lt "$deadline" ]; do
        sleep 0.2
    done
    for group in "$web" "$worker"; do
        if alive "$group"; then
            echo "  Process group $group did not stop within ${STOP_SECONDS}s; killing it."
            kill -KILL -- "-$group" 2>/dev/null || true
        fi
    done
    wait 2>/dev/null || true
    echo "  Stopped."
    exit 0
}
trap stop INT TERM EXIT

cat <<MSG

  Retention CRM is starting on  http://$HOST:$PORT/  ($( [ "$mode" = dev ] && echo "development server, DEBUG on" || echo "gunicorn" ))
  Worker and beat log:          $VAR/log/worker.log
  Demo logins (password: demo-password):
    admin          (Administrator)
    amelia, budi, carles  (Account managers)
    marta          (Marketer)
  API docs:                     http://$HOST:$PORT/api/v1/docs/
  Stop with Ctrl-C.

MSG
# Returns when the web server exits or a signal arrives (the trap then stops everything).
wait "$web" || true
stop
