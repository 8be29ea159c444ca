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
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import DateTime


@dataclass(frozen=True)
class _Compiled:
    sql: str
    parameters: Callable  # the driver's parameters from the values a call gives (see `_parameter_maker`)
    results: tuple  # (position, the column type's result converter) for the returned columns that have one


class Prepared:
    """A Core statement with named `bindparam`s, run with plain values on the DBAPI cursor.

    `parameters` names the statement's bindparams in the order a call gives their values: as
    a tuple, the cheapest thing to build per step. Each method runs on a DBAPI cursor (the hot
    path's transaction keeps one) and takes its connection's dialect.
    """

    def __init__(self, statement, parameters, column_keys=None):
        self.statement, self.parameters, self.column_keys = statement, tuple(parameters), column_keys
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
        fixed, types = {}, {}
        for bind, name in compiled.bind_names.items():
            if not bind.required:  # a literal the statement carries: converted once, here
                convert = _bind_converter(bind.type, dialect)
                fixed[name] = convert(bind.effective_value) if convert else bind.effective_value
            elif types.setdefault(name, bind.type)._type_affinity is not bind.type._type_affinity:
                raise ValueError(f"{name} is bound as both {types[name]} and {bind.type}")
        if set(types) != set(self.parameters) or len(set(self.parameters)) != len(self.parameters):
            raise ValueError(f"the statement binds {sorted(types)}, not {list(self.parameters)}")
        # A positional driver takes a value per placeholder; one that takes a dict, one per name.
        order = compiled.positiontup if compiled.positional else tuple(dict.fromkeys(compiled.bind_names.values()))
        converters = {name: _bind_converter(types[name], dialect) for name in self.parameters}
        returned = getattr(self.statement, "exported_columns", ())  # a SELECT's columns, an UPDATE's RETURNING ones
        results = ((position, column.type.dialect_impl(dialect).result_processor(dialect, None))
                   for position, column in enumerate(returned))
        return _Compiled(compiled.string,
                         _parameter_maker(self.parameters, converters, fixed, order, compiled.positional),
                         tuple((position, convert) for position, convert in results if convert is not None))

    def first(self, cursor, values, dialect):
        """Execute and return the first returned row as a tuple (converted), or None."""
        compiled = self.compiled(dialect)
        execute(cursor, compiled.sql, compiled.parameters(values))
        row = cursor.fetchone()
        if row is None or not compiled.results:
            return row
        row = list(row)
        for position, convert in compiled.results:
            row[position] = convert(row[position])
        return tuple(row)

    def rowcount(self, cursor, values, dialect):
        """Execute and return how many rows it changed."""
        compiled = self.compiled(dialect)
        execute(cursor, compiled.sql, compiled.parameters(values))
        return cursor.rowcount

    def run_many(self, cursor, rows, dialect):
        """Execute once per row (the driver's executemany)."""
        compiled = self.compiled(dialect)
        execute_many(cursor, compiled.sql, list(map(compiled.parameters, rows)))


def _parameter_maker(parameters, converters, fixed, order, positional):
    """A function giving the driver's parameters from the values a call gives, written for one statement.

    It checks how many values came, converts each that has a bind converter (None stays None),
    and returns them with the statement's literals in the order its placeholders take them: a
    tuple for a positional driver, else a dict by name. Written out as source and compiled once,
    as `collections.namedtuple` writes its methods, it runs a few bytecodes a call instead of a
    loop over the values and a lookup per placeholder.
    """
    local = {name: f"v{position}" for position, name in enumerate(parameters)}
    namespace, lines = {}, ["def make(values):",
                            f"    if len(values) != {len(parameters)}:",
                            f"        raise TypeError('%d values expected, %d given: %r' % "
                            f"({len(parameters)}, len(values), values))"]
    if parameters:
        lines.append(f"    {', '.join(local.values())}, = values")
    for name, convert in converters.items():
        if convert is not None:
            namespace[f"c_{local[name]}"] = convert
            lines.append(f"    if {local[name]} is not None: {local[name]} = c_{local[name]}({local[name]})")
    for number, (name, value) in enumerate(fixed.items()):
        namespace[f"k{number}"], local[name] = value, f"k{number}"
    if positional:
        lines.append(f"    return ({''.join(local[name] + ', ' for name in order)})")
    else:
        lines.append(f"    return {{{', '.join(f'{name!r}: {local[name]}' for name in order)}}}")
    source = compile("\n".join(lines), f"{__file__}:<parameters>", "exec")  # where profiles and tracebacks show it
    exec(source, namespace)  # noqa: S102 - source written above from names and positions only
    return namespace["make"]


def _bind_converter(column_type, dialect):
    """The column type's bind converter on a dialect, or a faster one that gives the same values."""
    convert = column_type.dialect_impl(dialect).bind_processor(dialect)
    if convert is not None and isinstance(column_type, DateTime) and dialect.name == "sqlite":
        faster = _naive_datetimes_as_iso(convert)
        samples = (datetime.datetime(2026, 1, 2, 3, 4, 5, 6), datetime.datetime(999, 12, 31, 23, 59, 59))
        if all(faster(sample) == convert(sample) for sample in samples):
            return faster  # SQLAlchemy formats each field in Python: several times slower
    return convert


_last_time = (None, None)  # a transaction binds one time in several statements: converted once. A
# tuple, swapped whole, so a thread reads a time and its text together; and as the tuple keeps
# the time alive, no other object can share its id.


def _naive_datetimes_as_iso(convert):
    """SQLite's DATETIME bind converter with a fast path for naive datetimes (all the hot path binds)."""
    def faster(value):
        global _last_time
        last, text = _last_time
        if value is last:
            return text
        if type(value) is datetime.datetime and value.tzinfo is None:
            text = value.isoformat(" ", "microseconds")
            _last_time = (value, text)
            return text
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
