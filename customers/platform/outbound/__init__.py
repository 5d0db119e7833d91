"""Requests Tenantry sends out (webhooks, log streams): where they may go, and how they go."""
