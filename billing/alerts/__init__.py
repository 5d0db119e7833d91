"""Usage alerts: thresholds per plan or customer, the notices and letters they send, weekly
digests."""
