"""Verified domains: the mail domains a customer proves it controls with a DNS TXT record, so
its people's sign-ins can go to its identity provider."""
