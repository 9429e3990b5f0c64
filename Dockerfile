# One image for web, worker and beat (see docker-compose.yml).

# --- front-end libraries, from npm, pinned by package-lock.json ---------------------------------
FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY scripts/vendor-assets.sh scripts/
RUN sh scripts/vendor-assets.sh

# --- the application ----------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_ENV=production VAR_DIR=/var/lib/retention-crm STATIC_ROOT=/app/staticfiles
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /home/crm crm \
    && mkdir -p /var/lib/retention-crm/uploads && chown -R crm /var/lib/retention-crm
WORKDIR /app
COPY requirements.txt requirements.lock ./
RUN pip install -r requirements.txt -c requirements.lock
COPY . .
COPY --from=assets /app/static/vendor static/vendor
# collectstatic needs settings that start; these throw-away values never reach a running container.
RUN SECRET_KEY=build ALLOWED_HOSTS=build python manage.py collectstatic --noinput \
    && chown -R crm /app/staticfiles
USER crm
EXPOSE 8000
# Threaded workers, as `make run` serves: the survey page's answers that a worker's threads write
# together go in one statement (group commit, docs/surveys.md).
CMD ["gunicorn", "retention_crm.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "8", "--worker-tmp-dir", "/dev/shm", "--access-logfile", "-"]
