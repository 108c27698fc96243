// A real oidc-provider instance on loopback for `leash login` tests: device authorization grant,
// public client "leash-cli", development interactions (any login/password signs in as that subject).
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'leash-cli',
      token_endpoint_auth_method: 'none',
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code'],
      response_types: [],
      redirect_uris: [],
    },
  ],
  features: { deviceFlow: { enabled: true }, devInteractions: { enabled: true } },
});
provider.listen(port, '127.0.0.1', () => process.stdout.write(`oidc idp listening on ${issuer}\n`));
