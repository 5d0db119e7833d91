"""``make bench``: measured speed at production scale (SPEC §9), run as ``python -m tests.bench``.

Runs against its own PostgreSQL database (its name must contain "bench"; ``make bench`` creates
it). Loads scale data with COPY (tests/bench/loading.py), then measures every list page against
the Django admin changelist of the same data and the page's own main SQL (pages.py), and
ingestion throughput through gunicorn (ingestion.py). Prints a markdown table (report.py) and
writes JSON to var/bench/.
"""
