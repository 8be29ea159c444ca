"""The chaos test: real Redis, PostgreSQL, gunicorn and rq workers, with failures injected.

Run it with `.venv/bin/python -m pytest chaos -s`; it is not part of the default (fast) suite.
"""
