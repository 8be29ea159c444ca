"""Statements compiled once per database and run on the driver's own cursor.

The hot path runs the same handful of statements for every step. Executed through SQLAlchemy,
each call re-derives a cache key, looks up the compiled form, converts its parameters and wraps
its result: several times what SQLite takes to run the statement. A Prepared statement asks
SQLAlchemy once per dialect for the SQL (placeholders and casts included) and for the column
types' own converters, then runs it on a DBAPI cursor: of a pooled DBAPI connection the hot path
holds itself, or of the session's connection when the statement must join its transaction.

Running past SQLAlchemy also skips what it computes per execution: a column's Python-side
default or onupdate. Compiling a statement that would need one raises, naming the column.
"""
import datetime
import operator
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import DateTime


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple | None  # parameter names for a driver that takes a dict, or None: it takes a list
    fixed: dict  # values the statement itself carries (its literals), already converted
    pick: Callable  # the parameters' values as a tuple, in placeholder order, from fixed | supplied values
    converters: tuple  # (position, the column type's bind converter) for the parameters that have one
    results: tuple  # one result converter (or None) per returned column


class Prepared:
    """A Core statement with named `bindparam`s, run with plain values on the DBAPI cursor.

    Each method runs on a DBAPI cursor (the hot path's transaction keeps one) and takes its
    connection's dialect.
    """

    def __init__(self, statement, column_keys=None):
        self.statement, self.column_keys = statement, column_keys
        self._compiled = weakref.WeakKeyDictionary()  # dialect -> _Compiled; apps come and go in tests
        self._last = (None, None)  # the last dialect asked for and its statement: the usual one (this
        # one reference keeps a dialect alive past its app: one per statement, at most)

    def compiled(self, dialect):
        """The statement for a dialect, compiled on first use."""
        last_dialect, compiled = self._last
        if last_dialect is dialect:
            return compiled
        compiled = self._compiled.get(dialect)
        if compiled is None:
            compiled = self._compiled[dialect] = self._compile(dialect)
        self._last = (dialect, compiled)
        return compiled

    def _compile(self, dialect):
        compiled = self.statement.compile(dialect=dialect, column_keys=self.column_keys)
        python_side = [column.name for column in (*compiled.insert_prefetch, *compiled.update_prefetch)]
        if python_side:  # SQLAlchemy computes these per execution, which this path skips
            raise ValueError(f"give {', '.join(python_side)} explicitly: their defaults run in Python")
        fixed, converters = {}, {}
        for bind, name in compiled.bind_names.items():
            convert = _bind_converter(bind.type, dialect)
            if not bind.required:  # a literal the statement carries: converted once, here
                fixed[name] = convert(bind.effective_value) if convert else bind.effective_value
            elif convert is not None:
                converters[name] = convert
        order = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.bind_names.values())
        returned = getattr(self.statement, "exported_columns", ())  # a SELECT's columns, an UPDATE's RETURNING ones
        results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in returned)
        return _Compiled(compiled.string, None if compiled.positional else order, fixed,
                         _picker(order),
                         tuple((position, converters[name]) for position, name in enumerate(order)
                               if name in converters), results)

    @staticmethod
    def _parameters(compiled, values):
        """The driver's parameters; a missing value is a KeyError, as it should be."""
        parameters = list(compiled.pick(compiled.fixed | values if compiled.fixed else values))
        for position, convert in compiled.converters:
            value = parameters[position]
            if value is not None:
                parameters[position] = convert(value)
        return parameters if compiled.names is None else dict(zip(compiled.names, parameters))

    def first(self, cursor, values, dialect):
        """Execute and return the first returned row as a tuple (converted), or None."""
        compiled = self.compiled(dialect)
        execute(cursor, compiled.sql, self._parameters(compiled, values))
        row = cursor.fetchone()
        if row is None:
            return None
        return tuple(value if convert is None else convert(value) for convert, value in zip(compiled.results, row))

    def rowcount(self, cursor, values, dialect):
        """Execute and return how many rows it changed."""
        compiled = self.compiled(dialect)
        execute(cursor, compiled.sql, self._parameters(compiled, values))
        return cursor.rowcount

    def run_many(self, cursor, rows, dialect):
        """Execute once per row (the driver's executemany)."""
        compiled = self.compiled(dialect)
        execute_many(cursor, compiled.sql, [self._parameters(compiled, row) for row in rows])


def _picker(names):
    """A function giving the values of `names` from a dict, as a tuple (an itemgetter: in C)."""
    if len(names) == 1:
        (name,) = names
        return lambda values: (values[name],)
    return operator.itemgetter(*names) if names else lambda values: ()


def _bind_converter(column_type, dialect):
    """The column type's bind converter on a dialect, or a faster one that gives the same values."""
    convert = column_type.dialect_impl(dialect).bind_processor(dialect)
    if convert is not None and isinstance(column_type, DateTime) and dialect.name == "sqlite":
        faster = _naive_datetimes_as_iso(convert)
        samples = (datetime.datetime(2026, 1, 2, 3, 4, 5, 6), datetime.datetime(999, 12, 31, 23, 59, 59))
        if all(faster(sample) == convert(sample) for sample in samples):
            return faster  # SQLAlchemy formats each field in Python: several times slower
    return convert


class _LastTime(threading.local):
    value = text = None


_last_time = _LastTime()  # a transaction binds one time in several statements: converted once


def _naive_datetimes_as_iso(convert):
    """SQLite's DATETIME bind converter with a fast path for naive datetimes (all the hot path binds)."""
    def faster(value):
        if type(value) is datetime.datetime and value.tzinfo is None:
            if value is not _last_time.value:
                _last_time.value, _last_time.text = value, value.isoformat(" ", "microseconds")
            return _last_time.text
        return convert(value)
    return faster


def execute(cursor, sql, parameters):
    """The one place a Prepared statement reaches the driver (the benchmark counts here)."""
    cursor.execute(sql, parameters)


def execute_many(cursor, sql, rows):
    """The same, for several rows."""
    cursor.executemany(sql, rows)


def commit(connection):
    """Commit a DBAPI connection's transaction (the benchmark counts here too)."""
    connection.commit()


def rollback(connection):
    """Roll back a DBAPI connection's transaction (and here)."""
    connection.rollback()
