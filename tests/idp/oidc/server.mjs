// A real OpenID Connect provider for the SSO tests: panva's oidc-provider on loopback, with its
// development login form (any email signs in) and the clients the test passes in.
//   node server.mjs <port> '<clients as JSON>'
// Accounts: the login name is the email; "Ada Lovelace <groups=admins,eng>" style extras come
// from ACCOUNTS (JSON: {email: {given_name, family_name, groups}}) when set.
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const clients = JSON.parse(process.argv[3]);
const accounts = JSON.parse(process.env.ACCOUNTS || '{}');

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients,
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['given_name', 'family_name'], groups: ['groups'] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  pkce: { required: () => true },
  // The provider's default, as Entra ID's: with an access token issued, the scopes' claims
  // (email, names, groups) come from the userinfo endpoint, not the ID token. CLAIMS_IN_ID_TOKEN
  // puts them in the ID token instead, as Okta and Google do.
  conformIdTokenClaims: !process.env.CLAIMS_IN_ID_TOKEN,
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        const extra = accounts[id] || {};
        return { sub: id, email: id, email_verified: true, ...extra };
      },
    };
  },
  // The tests sign in as a person of the customer, not as a consenting third party: every
  // client is first-party, so the grant is made without a consent screen.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile groups');
    await grant.save();
    return grant;
  },
});
// Tenantry gives each connection its own redirect URI, known only once the connection exists:
// the tests allow every URI under the prefixes they pass (a real provider registers each).
const prefixes = JSON.parse(process.env.REDIRECT_PREFIXES || '[]');
const exact = provider.Client.prototype.redirectUriAllowed;
provider.Client.prototype.redirectUriAllowed = function allowed(value) {
  return prefixes.some((prefix) => value.startsWith(prefix)) || exact.call(this, value);
};
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${port}`);
});
