"""RQ's cron configuration: `rq cron app/cron.py` runs the recovery sweeper periodically."""
import os

from rq import cron

import jobs

cron.register(jobs.sweep, os.environ.get("SAGA_QUEUE", "saga"),
              interval=int(os.environ.get("SAGA_SWEEP_INTERVAL") or 15), job_timeout=300, result_ttl=600)
