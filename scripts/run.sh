#!/usr/bin/env bash
# Starts the whole app for development: a Celery worker with beat embedded, and the web server.
# Ctrl-C stops both.
set -euo pipefail
PY=${PY:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
CELERY=$(dirname "$PY")/celery
mkdir -p var/log

"$CELERY" -A retention_crm worker --beat --loglevel=INFO --concurrency=2 \
    --schedule=var/celerybeat-schedule >var/log/worker.log 2>&1 &
worker=$!
trap 'kill "$worker" 2>/dev/null; wait "$worker" 2>/dev/null' EXIT INT TERM

cat <<MSG

  Retention CRM is starting on  http://$HOST:$PORT/
  Worker and beat log:          var/log/worker.log
  Demo logins (password: demo-password):
    admin          (Administrator)
    amelia, budi, carles  (Account managers)
    marta          (Marketer)
  API docs:                     http://$HOST:$PORT/api/v1/docs/

MSG
"$PY" manage.py runserver "$HOST:$PORT"
