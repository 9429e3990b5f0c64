# Two commands for a new user: `make run` and `make test`. Everything else is a step they use.
# `make run` serves the product as a small shop may run it (gunicorn, DEBUG off, static files
# collected); `make dev` is the same app on Django's auto-reloading server with DEBUG on.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run dev test install assets lint migrations-check deploy-check messages lock clean

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c requirements.lock
	touch $@

install: $(VENV)/.installed

static/vendor/.installed: package.json package-lock.json scripts/vendor-assets.sh
	npm ci --no-audit --no-fund --loglevel=error
	sh scripts/vendor-assets.sh
	touch $@

assets: static/vendor/.installed

run: export DJANGO_ENV ?= local
run: install assets
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py seed_demo
	HOST=$(HOST) PORT=$(PORT) PY=$(PY) bash scripts/run.sh serve

dev: install assets
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	HOST=$(HOST) PORT=$(PORT) PY=$(PY) bash scripts/run.sh dev

test: install assets
	PY=$(PY) bash scripts/test.sh $(ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

migrations-check: install
	$(PY) manage.py makemigrations --check --dry-run

deploy-check: install assets
	DJANGO_ENV=production SECRET_KEY=$$(head -c 48 /dev/urandom | base64) ALLOWED_HOSTS=crm.example.com \
		$(PY) manage.py check --deploy --fail-level WARNING

messages: install
	for lang in id ms ca; do $(PY) manage.py makemessages --locale $$lang --ignore '.venv/*' --ignore 'node_modules/*' --ignore 'bench/*' --ignore 'tests/*'; done
	$(PY) manage.py compilemessages --ignore '.venv/*'

lock: install
	$(PY) -m pip freeze --exclude-editable | grep -v -E '^(pip|setuptools)==' > requirements.lock.new
	{ echo "# Every package the project installs, pinned (pip constraints). Regenerate with 'make lock'."; cat requirements.lock.new; } > requirements.lock && rm requirements.lock.new

clean:
	rm -rf $(VENV) node_modules static/vendor staticfiles var
