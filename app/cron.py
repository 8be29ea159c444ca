"""RQ's cron configuration: `rq cron app/cron.py` runs the sweeper often and retention hourly."""
import os

from rq import cron

import jobs

cron.register(jobs.sweep, os.environ.get("SAGA_QUEUE", "saga"),
              interval=int(os.environ.get("SAGA_SWEEP_INTERVAL") or 15), job_timeout=300, result_ttl=600)
cron.register(jobs.prune, os.environ.get("SAGA_QUEUE", "saga"), interval=3600, job_timeout=900, result_ttl=600)
