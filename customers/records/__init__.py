"""The customer record: the Customer model, its lifecycle, the console's list and detail pages
and the Customer resource of the API."""
