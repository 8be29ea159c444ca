"""Demo data: a few users (one inactive) and products with limited stock."""
from app.extensions import db
from app.models import Product, User

USERS = [
    ("Ada Lovelace", "ada@example.com", True),
    ("Alan Turing", "alan@example.com", True),
    ("Grace Hopper", "grace@example.com", True),
    ("Inactive Ivan", "ivan@example.com", False),
]
PRODUCTS = [
    ("KB-001", "Mechanical keyboard", 8_900, 25),
    ("MS-002", "Wireless mouse", 2_900, 50),
    ("MN-003", "27-inch monitor", 32_900, 10),
    ("HP-004", "Noise-cancelling headphones", 19_900, 5),
    ("GPU-005", "Graphics card (over the card limit)", 650_000, 3),
]


def seed():
    """Insert the demo rows that are missing; returns how many were added."""
    added = 0
    emails = set(db.session.execute(db.select(User.email)).scalars())
    skus = set(db.session.execute(db.select(Product.sku)).scalars())
    for name, email, active in USERS:
        if email not in emails:
            db.session.add(User(name=name, email=email, active=active))
            added += 1
    for sku, name, price, stock in PRODUCTS:
        if sku not in skus:
            db.session.add(Product(sku=sku, name=name, price_cents=price, stock=stock, reserved=0))
            added += 1
    db.session.commit()
    return added


def is_empty():
    """Whether the database has neither users nor products."""
    return db.session.execute(db.select(User.id).limit(1)).first() is None and \
        db.session.execute(db.select(Product.id).limit(1)).first() is None
