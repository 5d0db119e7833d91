"""The audit trail, below every domain: entries, their chain, record(), the action catalogue,
and the hooks that run after an entry is written. It knows no domain model."""
