"""The portal: where a customer's own admins manage their customer, behind its security gate."""
