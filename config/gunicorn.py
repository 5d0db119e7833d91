"""gunicorn settings for production: `gunicorn -c config/gunicorn.py config.wsgi`."""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
accesslog = "-"
# Access log lines with the invitation token masked (config/log_masking.py).
logger_class = "config.log_masking.MaskedGunicornLogger"
