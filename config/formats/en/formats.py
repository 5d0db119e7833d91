"""Dates and times as the console shows them (customers.templatetags.display.moment), so the
admin reads the same: 2026-12-02 and 2026-12-02 06:31 UTC (the server's time zone is UTC)."""

DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i T"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
TIME_FORMAT = "H:i"
