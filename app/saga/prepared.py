"""Statements compiled once per database and run on the driver's own cursor.

The hot path runs the same handful of statements for every step. Executed through SQLAlchemy,
each call re-derives a cache key, looks up the compiled form, converts its parameters and wraps
its result: several times what SQLite takes to run the statement. A Prepared statement asks
SQLAlchemy once per dialect for the SQL (placeholders and casts included) and for the column
types' own converters, then runs it on the DBAPI cursor of the SQLAlchemy connection it is
given (a plain pooled one, or the session's when the statement must join its transaction).

Running past SQLAlchemy also skips what it computes per execution: a column's Python-side
default or onupdate. Compiling a statement that would need one raises, naming the column.
"""
import weakref
from dataclasses import dataclass


@dataclass(frozen=True)
class _Compiled:
    sql: str
    order: tuple | None  # parameter names in placeholder order (positional drivers), or None
    fixed: dict  # values the statement itself carries (literals), already converted
    names: frozenset  # the parameters a caller supplies
    converters: dict  # parameter name -> the column type's bind converter
    results: tuple  # one result converter (or None) per returned column


class Prepared:
    """A Core statement with named `bindparam`s, run with plain values on the DBAPI cursor."""

    def __init__(self, statement, column_keys=None):
        self.statement, self.column_keys = statement, column_keys
        self._compiled = weakref.WeakKeyDictionary()  # dialect -> _Compiled; apps come and go in tests

    def compiled(self, dialect):
        """The statement for a dialect, compiled on first use."""
        compiled = self._compiled.get(dialect)
        if compiled is None:
            compiled = self._compiled[dialect] = self._compile(dialect)
        return compiled

    def _compile(self, dialect):
        compiled = self.statement.compile(dialect=dialect, column_keys=self.column_keys)
        python_side = [column.name for column in (*compiled.insert_prefetch, *compiled.update_prefetch)]
        if python_side:  # SQLAlchemy computes these per execution, which this path skips
            raise ValueError(f"give {', '.join(python_side)} explicitly: their defaults run in Python")
        fixed, names, converters = {}, set(), {}
        for bind, name in compiled.bind_names.items():
            convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if bind.required:
                names.add(name)
                if convert is not None:
                    converters[name] = convert
            else:
                fixed[name] = convert(bind.effective_value) if convert else bind.effective_value
        returned = getattr(self.statement, "exported_columns", ())  # an UPDATE's RETURNING columns
        results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in returned)
        order = tuple(compiled.positiontup) if compiled.positional else None
        return _Compiled(compiled.string, order, fixed, frozenset(names), converters, results)

    def _parameters(self, compiled, values):
        converters, merged = compiled.converters, dict(compiled.fixed)
        for name in compiled.names:  # a missing value is a KeyError, as it should be
            value, convert = values[name], converters.get(name)
            merged[name] = value if convert is None or value is None else convert(value)
        return merged if compiled.order is None else [merged[name] for name in compiled.order]

    def run(self, connection, values):
        """Execute once on a SQLAlchemy Connection; returns the DBAPI cursor (close it)."""
        compiled = self.compiled(connection.dialect)
        cursor = connection.connection.cursor()
        try:
            execute(cursor, compiled.sql, self._parameters(compiled, values))
        except BaseException:
            cursor.close()
            raise
        return cursor

    def first(self, connection, values):
        """Execute and return the first returned row as a tuple (converted), or None."""
        compiled = self.compiled(connection.dialect)
        cursor = self.run(connection, values)
        try:
            row = cursor.fetchone()
        finally:
            cursor.close()
        if row is None:
            return None
        return tuple(value if convert is None else convert(value) for convert, value in zip(compiled.results, row))

    def rowcount(self, connection, values):
        """Execute and return how many rows it changed."""
        cursor = self.run(connection, values)
        try:
            return cursor.rowcount
        finally:
            cursor.close()

    def run_many(self, connection, rows):
        """Execute once per row (the driver's executemany)."""
        compiled = self.compiled(connection.dialect)
        cursor = connection.connection.cursor()
        try:
            execute_many(cursor, compiled.sql, [self._parameters(compiled, row) for row in rows])
        finally:
            cursor.close()


def execute(cursor, sql, parameters):
    """The one place a Prepared statement reaches the driver (the benchmark counts here)."""
    cursor.execute(sql, parameters)


def execute_many(cursor, sql, rows):
    """The same, for several rows."""
    cursor.executemany(sql, rows)
