"""The saga engine's persisted state: sagas, their steps, and the audit history of both."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.extensions import db


class Saga(db.Model):
    """One run of a saga definition; each step keeps its own result (see app/saga/results.py)."""

    __tablename__ = "sagas"
    __table_args__ = (
        Index("ix_sagas_status_id", "status", "id"),
        Index("ix_sagas_type_id", "type", "id"),
        Index("ix_sagas_finished_at", "finished_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24), default="PENDING")
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    step_count: Mapped[int]
    current_step: Mapped[int] = mapped_column(default=0)
    retries: Mapped[int] = mapped_column(default=0)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    request_hash: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=lambda: clock.now())
    updated_at: Mapped[datetime] = mapped_column(default=lambda: clock.now(), onupdate=lambda: clock.now())
    deadline_at: Mapped[datetime]
    compensation_deadline_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    steps: Mapped[list["SagaStep"]] = relationship(
        back_populates="saga", order_by="SagaStep.index", lazy="raise_on_sql"
    )


class SagaStep(db.Model):
    """One step of a saga: its status, attempt counters and the latest error."""

    __tablename__ = "saga_steps"
    __table_args__ = (UniqueConstraint("saga_id", "index", name="uq_saga_steps_saga_index"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    saga_id: Mapped[int] = mapped_column(ForeignKey("sagas.id"))
    index: Mapped[int]
    name: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24), default="PENDING")
    attempts: Mapped[int] = mapped_column(default=0)
    compensation_attempts: Mapped[int] = mapped_column(default=0)
    compensation_base: Mapped[int] = mapped_column(default=0)
    fallback_from_attempt: Mapped[int | None]
    outcome_unknown: Mapped[bool] = mapped_column(default=False)
    timeout_seconds: Mapped[int]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    next_retry_at: Mapped[datetime | None]
    error_type: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict | None] = mapped_column(JSON)

    saga: Mapped[Saga] = relationship(back_populates="steps", lazy="raise_on_sql")


class SagaEvent(db.Model):
    """An append-only record of one transition or operator action: the saga's history."""

    __tablename__ = "saga_events"
    __table_args__ = (Index("ix_saga_events_saga_id_id", "saga_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    saga_id: Mapped[int] = mapped_column(ForeignKey("sagas.id"))
    step_index: Mapped[int | None]
    step_name: Mapped[str | None] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(48))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    attempt: Mapped[int | None]
    duration_ms: Mapped[float | None]
    error_type: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64), default="orchestrator")
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=lambda: clock.now())
