"""The pages of the customers app: one module per area (account, console, portal, invites)."""
