"""Printing the benchmark's markdown table."""

from __future__ import annotations

from typing import Any

from tests.bench.common import Output


class Report:
    stdout: Output

    def print_report(self, report: dict[str, Any]) -> None:
        out = self.stdout.write
        sizes = report["sizes"]
        out(f"\n## Tenantry bench — {report['when'][:19]} UTC\n")
        out(
            f"{sizes['customers']:,} customers, {sizes['executions']:,} executions, "
            f"{sizes['events']:,} events, {sizes['audit']:,} audit entries; loaded in "
            f"{report['load_seconds']} s; {sizes['requests']} requests per page; "
            f"{report['machine']['cpus']} CPUs.\n"
        )
        out(
            "| page | p50 ms | p95 ms | queries | bytes | main SQL ms | admin p95 ms | "
            "page/admin | page/SQL | COUNT(*) on a log |"
        )
        out("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for row in report["pages"]:
            out(
                f"| {row['page']} | {row['p50_ms']} | {row['p95_ms']} | {row['queries']} | "
                f"{row['bytes']:,} | {row['sql_ms'] if row['sql_ms'] is not None else '—'} | "
                f"{row.get('admin_p95_ms', '—')} | {row.get('page_vs_admin', '—')} | "
                f"{row.get('page_vs_sql', '—')} | "
                f"{'yes' if row['count_on_big_table'] else 'no'} |"
            )
        engines = report["engines"]
        out(
            f"\nThe Events rows ({engines['rows']}), same markup: Django templates "
            f"{engines['django_ms']} ms, Jinja2 {engines['jinja2_ms']} ms "
            f"({engines['speedup']}× faster)."
        )
        out(
            "\n| ingestion (two gunicorns) | clients | requests/s | events/s | pgbench requests/s "
            "| % of pgbench | accepted | 429s | errors | stored | exact |"
        )
        out("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for row in report["ingestion"]:
            exact = "yes" if row["exact"] else "NO"
            if "clients" in row:
                out(
                    f"| {row['scenario']} | {row['clients']} | {row['requests_per_s']} | "
                    f"{row['events_per_s']} | {row['pgbench_requests_per_s']} | "
                    f"{row['percent_of_ceiling']} | {row['accepted']} | {row['refused_429']} | "
                    f"{row['errors']} | {row['stored']} | {exact} |"
                )
            elif "workers" in row:
                peaks = ", ".join(str(mb) for mb in row["workers"])
                out(f"| {row['scenario']}: {peaks} (≤ 150) | | | | | | | | | | {exact} |")
            else:
                out(
                    f"| {row['scenario']} (limit {row['limit']:,}) | | | | | | {row['used']} used "
                    f"| | | | {exact} |"
                )
        out("\n| consume() (events per day) | calls | with usage alerts ms | without ms | extra |")
        out("|---|---:|---:|---:|---:|")
        for row in report["consume"]:
            out(
                f"| limit {row['limit']:,} | {row['calls']} | {row['with_alerts_ms']} | "
                f"{row['without_ms']} | {row['extra_percent']} % |"
            )
