"""Earlier steps' results, as an action sees them: read from the steps, and only when asked for.

A saga keeps no copy of its results; each lives on its step. Rewriting one accumulated copy on
every step made a step's cost grow with the saga's length.
"""
from collections.abc import Mapping

from sqlalchemy import select

from app.extensions import db
from app.models import SagaStep


class StepResults(Mapping):
    """{step name: result} of a saga's steps that returned one, loaded on first use."""

    def __init__(self, saga_id):
        self.saga_id = saga_id
        self._results = None

    def _loaded(self):
        if self._results is None:
            rows = db.session.execute(
                select(SagaStep.name, SagaStep.result).where(SagaStep.saga_id == self.saga_id)
                .order_by(SagaStep.index))
            self._results = {name: result for name, result in rows if result is not None}
        return self._results

    def __getitem__(self, name):
        return self._loaded()[name]

    def __iter__(self):
        return iter(self._loaded())

    def __len__(self):
        return len(self._loaded())


def results_of(steps):
    """The same mapping, from steps already loaded (for the saga's detail)."""
    return {step.name: step.result for step in steps if step.result is not None}
