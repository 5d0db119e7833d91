"""Identity: organizations, people, memberships, API keys, sign-in, two-factor and password
reset; where SSO and SCIM will land."""
