"""Activity: workflows, executions and events, and their ingestion from the runtime."""
