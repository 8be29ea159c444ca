"""Business rules, one module per domain; every saga action and compensation is idempotent."""
