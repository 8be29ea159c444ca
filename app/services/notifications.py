"""Notifications: at most one of each kind per saga."""
from app.extensions import db
from app.models import Notification


def send_notification(saga_id, user, kind, subject, body):
    """Send (record) a message to a user; a re-run returns the one already sent."""
    sent = find_notification(saga_id, kind)
    if sent is None:
        sent = Notification(saga_id=saga_id, user_id=user.id, kind=kind, recipient=user.email,
                            subject=subject, body=body)
        db.session.add(sent)
    return sent


def find_notification(saga_id, kind):
    """The notification of a kind sent for a saga, if any."""
    return db.session.execute(db.select(Notification).filter_by(saga_id=saga_id, kind=kind)).scalar_one_or_none()
