// A real OAuth 2.0 / OpenID authorization server for rmail's tests: oidc-provider (npm), a
// certified implementation nobody here wrote, on 127.0.0.1 with a small configuration.
//
//     node tests/it/support/oauth/provider.mjs --dir DIR [--access-ttl SECS]
//
// It prints exactly "ISSUER http://127.0.0.1:<port>" on stdout once it listens, and runs
// until killed or until its stdin is closed (the test harness holds a pipe, so a crashed
// test leaves no orphan). DIR/events.log gets one line per token endpoint outcome:
//     "grant <grant_type> ok"         a token was issued
//     "grant <grant_type> <error>"    the token endpoint refused (e.g. invalid_grant)
//
// Clients (see CLIENTS below):
//   rmail-native   public client (no secret, PKCE required), loopback redirect on any port
//                  (RFC 8252), authorization code, device flow, refresh tokens rotated on
//                  every use (a rotated token used again revokes the whole grant).
//   rmail-app      confidential client (secret "app-secret"), client credentials only.
//   smtpd          confidential client (secret "smtpd-secret") the test SMTP server uses for
//                  token introspection (RFC 7662).
// Scopes: openid, offline_access, smtp. The dev interactions accept any login and password
// (the login becomes the account id, and its email claim is LOGIN@example.com).

import fs from 'node:fs';
import path from 'node:path';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

function parseArgs(argv) {
  const args = { dir: null, accessTtl: 3600 };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--dir') args.dir = value;
    else if (flag === '--access-ttl') args.accessTtl = Number(value);
    else {
      process.stderr.write(`provider.mjs: unknown argument ${flag}\n`);
      process.exit(64);
    }
    i += 1;
  }
  if (!args.dir || !Number.isInteger(args.accessTtl) || args.accessTtl <= 0) {
    process.stderr.write('usage: provider.mjs --dir DIR [--access-ttl SECS]\n');
    process.exit(64);
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
fs.mkdirSync(args.dir, { recursive: true });
const events = fs.openSync(path.join(args.dir, 'events.log'), 'a');
const logEvent = (line) => fs.writeSync(events, `${line}\n`);

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

const CLIENTS = [
  {
    client_id: 'rmail-native',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token', DEVICE_GRANT],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/'],
  },
  {
    client_id: 'rmail-app',
    client_secret: 'app-secret',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'smtp',
  },
  {
    client_id: 'smtpd',
    client_secret: 'smtpd-secret',
    grant_types: [],
    response_types: [],
    redirect_uris: [],
  },
];

const configuration = {
  clients: CLIENTS,
  scopes: ['openid', 'offline_access', 'smtp'],
  claims: { openid: ['sub'], email: ['email'] },
  async findAccount(_ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return { sub, email: `${sub}@example.com` };
      },
    };
  },
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true, allowedPolicy: async () => true },
    revocation: { enabled: true, allowedPolicy: async () => true },
  },
  pkce: { required: () => true },
  // Every refresh rotates the refresh token: the client must save each new one.
  rotateRefreshToken: () => true,
  ttl: {
    AccessToken: args.accessTtl,
    ClientCredentials: args.accessTtl,
    RefreshToken: 24 * 3600,
    DeviceCode: 600,
    Grant: 24 * 3600,
    Session: 3600,
    Interaction: 600,
    AuthorizationCode: 60,
  },
  cookies: { keys: ['rmail-test-cookie-key'] },
};

// Listen first, on a free port, then build the provider with the issuer that port gives:
// no window in which another process could take the port.
const http = createServer();
http.listen(0, '127.0.0.1', () => {
  const { port } = http.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, configuration);
  provider.on('grant.success', (ctx) => logEvent(`grant ${ctx.oidc.params.grant_type} ok`));
  provider.on('grant.error', (ctx, err) => {
    logEvent(`grant ${ctx.oidc?.params?.grant_type ?? '?'} ${err.error ?? err.name}`);
  });
  provider.on('server_error', (_ctx, err) => process.stderr.write(`server_error: ${err.stack}\n`));
  http.on('request', provider.callback());
  process.stdout.write(`ISSUER ${issuer}\n`);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
