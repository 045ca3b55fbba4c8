# The two commands of the README: `make run` and `make test`. Each does its own set-up.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1:8000

.PHONY: run test install lint messages clean

$(VENV)/.installed: requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "Admin: http://$(HOST)/admin/  (login printed above)"
	$(PY) manage.py runserver $(HOST)

lint: install
	$(VENV)/bin/ruff check .

test: lint
	$(PY) manage.py makemigrations --check --dry-run --settings=config.settings.test
	$(VENV)/bin/pytest $(PYTEST_ARGS)

messages: install
	$(PY) manage.py makemessages -l zh_Hans -l en --no-obsolete --ignore=.venv --ignore=bench --ignore=staticfiles --ignore=media
	$(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles media
