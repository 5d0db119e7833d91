"""The template engine question, measured: the Events page's rows (its heaviest part, 50 rows)
rendered by the Django template language and by Jinja2, with the same filters, to the same
markup. The bench reports both and the page's share that rendering is."""

from __future__ import annotations

import re
import statistics
import time
from html import unescape
from pathlib import Path
from typing import Any

import jinja2
from django.template import engines
from django.template.defaultfilters import capfirst, truncatechars

from audit.models import Event
from customers.templatetags.display import badge, moment
from tests.bench.common import BenchError, Output

# The same rows in each engine's syntax (the Events page's loop, templates/audit/events.html).
TEMPLATES = Path(__file__).parent / "templates"


class Engines:
    stdout: Output
    orgs: list

    def measure_engines(self, renders: int = 30) -> dict[str, Any]:
        self.stdout.write("Measuring the Events rows in both template engines…")
        rows = list(Event.objects.for_organization(self.orgs[0]).select_related("customer")[:50])
        django_template = engines["django"].from_string(
            (TEMPLATES / "events_rows.html").read_text()
        )
        environment = jinja2.Environment(autoescape=True)
        environment.filters.update(moment=moment, capfirst=capfirst, truncatechars=truncatechars)
        environment.globals["badge"] = badge
        jinja_template = environment.from_string((TEMPLATES / "events_rows.jinja").read_text())
        outputs = {
            "django": django_template.render({"rows": rows}),
            "jinja2": jinja_template.render(rows=rows),
        }
        # The same markup: equal but for whitespace and how a quote is escaped (&quot; / &#34;).
        if len({re.sub(r"\s+", " ", unescape(html)).strip() for html in outputs.values()}) != 1:
            raise BenchError("The two engines rendered the rows differently.")
        timings = {}
        for name, render in (
            ("django", lambda: django_template.render({"rows": rows})),
            ("jinja2", lambda: jinja_template.render(rows=rows)),
        ):
            samples = []
            for _ in range(renders):
                started = time.perf_counter()
                render()
                samples.append((time.perf_counter() - started) * 1000)
            timings[name] = round(statistics.median(samples), 2)
        return {
            "rows": len(rows),
            "django_ms": timings["django"],
            "jinja2_ms": timings["jinja2"],
            "speedup": round(timings["django"] / timings["jinja2"], 1),
        }
