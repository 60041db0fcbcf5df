// Plays the person at the browser for rmail's OAuth tests: an HTTP client with a cookie jar
// that walks oidc-provider's pages and submits its forms as a person would.
//
//     node user.mjs authorize URL [--login NAME] [--deny]
//         Opens the authorization URL, signs in (any password), consents, and follows the
//         final redirect to the client's loopback listener (rmail's). --deny clicks
//         "Cancel" at the consent step instead (the client then gets error=access_denied).
//     node user.mjs device VERIFICATION_URL USER_CODE [--login NAME]
//         Opens the verification page, enters the user code, confirms, signs in, consents.
//     node user.mjs revoke ISSUER CLIENT_ID TOKEN
//         Revokes a token at the provider's revocation endpoint (RFC 7009), as a user who
//         removes the app's access in their account settings.
//
// It prints one line per page on stderr (method, URL without query, status) and on stdout
// "DONE <status> <url without query>" for the last page it reached. Exit 0 when it got
// there, 1 when a page was not what it expected.

const MAX_STEPS = 30;

function fail(message) {
  process.stderr.write(`user.mjs: ${message}\n`);
  process.exit(1);
}

function option(args, name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
}

/** Cookies by name; path and domain are ignored (one provider on one host). */
class Jar {
  constructor() {
    this.cookies = new Map();
  }

  store(response) {
    for (const header of response.headers.getSetCookie()) {
      const [pair, ...attrs] = header.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => {
        const [k, v] = a.trim().split('=');
        return k.toLowerCase() === 'expires' && new Date(v) < new Date();
      });
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

const unquote = (s) => s.replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&#x2F;', '/');

/** The first form of an HTML page: action, method and its named inputs' values. */
function firstForm(html) {
  const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) return null;
  const attr = (tag, name) => {
    const m = new RegExp(`\\b${name}="([^"]*)"`, 'i').exec(tag);
    return m ? unquote(m[1]) : undefined;
  };
  const fields = {};
  for (const input of form[2].matchAll(/<input\b([^>]*)>/gi)) {
    const name = attr(input[1], 'name');
    if (name) fields[name] = attr(input[1], 'value') ?? '';
  }
  return {
    action: attr(form[1], 'action'),
    method: (attr(form[1], 'method') ?? 'get').toUpperCase(),
    fields,
  };
}

/** Walks pages from `start`, filling each form with `fill`, until a page has no form. */
async function walk(start, fill) {
  const jar = new Jar();
  let url = new URL(start);
  let method = 'GET';
  let body;
  for (let step = 0; step < MAX_STEPS; step += 1) {
    const headers = { cookie: jar.header() };
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(url, { method, body, headers, redirect: 'manual' });
    jar.store(response);
    process.stderr.write(`${method} ${url.origin}${url.pathname} ${response.status}\n`);
    if (response.status >= 300 && response.status < 400) {
      url = new URL(response.headers.get('location'), url);
      method = 'GET';
      body = undefined;
      continue;
    }
    const html = await response.text();
    const form = response.ok ? firstForm(html) : null;
    if (!form) {
      process.stdout.write(`DONE ${response.status} ${url.origin}${url.pathname}\n`);
      return response.status;
    }
    const fields = fill(form.fields, html);
    if (fields.followLink) {
      // The person clicked a link instead of submitting the form.
      url = new URL(fields.followLink, url);
      method = 'GET';
      body = undefined;
      continue;
    }
    url = new URL(form.action ?? url.href, url);
    if (form.method === 'POST') {
      method = 'POST';
      body = new URLSearchParams(fields).toString();
    } else {
      method = 'GET';
      body = undefined;
      url.search = new URLSearchParams(fields).toString();
    }
  }
  return fail(`more than ${MAX_STEPS} pages`);
}

/** How a person answers each of oidc-provider's dev-interaction forms. */
function filler(login, userCode, deny) {
  return (fields, html) => {
    if (deny && fields.prompt === 'consent') {
      // The dev consent page's "[ Cancel ]" link aborts the interaction: the provider then
      // redirects to the client with error=access_denied.
      const cancel = /<a href="([^"]*)">\[ Cancel \]<\/a>/.exec(html);
      if (!cancel) fail('no Cancel link on the consent page');
      return { followLink: unquote(cancel[1]) };
    }
    const out = { ...fields };
    if ('login' in fields) {
      out.login = login;
      out.password = 'any password';
    }
    if ('user_code' in fields && !fields.user_code) out.user_code = userCode;
    return out;
  };
}

async function revoke(issuer, clientId, token) {
  const discovery = await (await fetch(new URL('/.well-known/openid-configuration', issuer))).json();
  const response = await fetch(discovery.revocation_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, client_id: clientId }).toString(),
  });
  process.stdout.write(`DONE ${response.status} ${discovery.revocation_endpoint}\n`);
  if (!response.ok) fail(`revocation answered ${response.status}: ${await response.text()}`);
}

const [command, ...rest] = process.argv.slice(2);
const login = option(rest, '--login', 'alice');
if (command === 'authorize' && rest[0]) {
  await walk(rest[0], filler(login, '', rest.includes('--deny')));
} else if (command === 'device' && rest[0] && rest[1]) {
  await walk(rest[0], filler(login, rest[1], false));
} else if (command === 'revoke' && rest.length >= 3) {
  await revoke(rest[0], rest[1], rest[2]);
} else {
  fail('usage: user.mjs authorize URL | device URL CODE | revoke ISSUER CLIENT_ID TOKEN');
}
