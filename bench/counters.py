"""Counters for one process: SQL statements by verb, commits and rollbacks, Redis round trips."""
from collections import Counter

from redis.connection import AbstractConnection
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from app.saga import prepared


class Counters:
    """Installs listeners on every SQLAlchemy engine, the engine's prepared statements (which run on
    the driver's cursor, past SQLAlchemy's events) and redis-py's socket writes."""

    def __init__(self):
        self.values = Counter()

    def install(self):
        """Start counting in this process; returns self."""
        event.listen(Engine, "before_cursor_execute", self._statement)
        event.listen(Engine, "commit", self._commit)
        event.listen(Engine, "rollback", self._rollback)
        event.listen(Pool, "checkout", self._checkout)
        send = AbstractConnection.send_packed_command
        values = self.values

        def counted_send(connection, command, check_health=True):
            values["redis round trips"] += 1  # a pipeline is one write, so one round trip
            return send(connection, command, check_health)

        AbstractConnection.send_packed_command = counted_send
        run_one, run_many = prepared.execute, prepared.execute_many

        def counted_execute(cursor, sql, parameters):
            self._statement(None, cursor, sql, parameters, None, False)
            return run_one(cursor, sql, parameters)

        def counted_execute_many(cursor, sql, rows):
            self._statement(None, cursor, sql, rows, None, True)
            return run_many(cursor, sql, rows)

        prepared.execute, prepared.execute_many = counted_execute, counted_execute_many
        commit = prepared.commit

        def counted_commit(connection):
            self._commit(None)
            return commit(connection)

        prepared.commit = counted_commit
        rollback = prepared.rollback

        def counted_rollback(connection):
            self._rollback(None)
            return rollback(connection)

        prepared.rollback = counted_rollback
        return self

    def snapshot(self):
        """A copy of the counts so far."""
        return Counter(self.values)

    def _statement(self, conn, cursor, statement, parameters, context, executemany):
        """Count one SQL statement by its verb."""
        self.values["sql " + statement.lstrip().split(None, 1)[0].upper()] += 1
        self.values["sql statements"] += 1
        self.values["sql parameter bytes"] += _size(parameters)

    def _commit(self, conn):
        """Count one commit."""
        self.values["commits"] += 1

    def _checkout(self, dbapi_connection, record, proxy):
        """Count one connection taken from the pool (with pool_pre_ping, one ping each)."""
        self.values["pool checkouts"] += 1

    def _rollback(self, conn):
        """Count one rollback (the pool also rolls back a connection it takes back)."""
        self.values["rollbacks"] += 1


def _size(parameters):
    """Characters in a statement's parameters, however the driver was handed them."""
    if isinstance(parameters, dict):
        return sum(_size(value) for value in parameters.values())
    if isinstance(parameters, (list, tuple)):
        return sum(_size(value) for value in parameters)
    return 0 if parameters is None else len(str(parameters))


_installed = None


def installed():
    """This process's counters, installed on first use."""
    global _installed
    if _installed is None:
        _installed = Counters().install()
    return _installed
