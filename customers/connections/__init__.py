"""Connected accounts: a customer's links to third-party providers, their lifecycle and API."""
