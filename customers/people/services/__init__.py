"""People's services: invitations (send, accept, resend, revoke, expire) and seats."""
