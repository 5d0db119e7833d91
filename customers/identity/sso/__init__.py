"""Single sign-on: a customer's connections to its identity provider (OpenID Connect), the
round trip that signs its people in, and the test that proves a connection before it is used."""
