#!/usr/bin/env python3
"""Verify every DKIM-Signature of a message with dkimpy, an implementation rmail did not write.

Like dkimpy's own `dkimverify`, except that the public key comes from a local file instead of
DNS: the TXT record for SELECTOR._domainkey.DOMAIN is built from the public key here, and any
other name is NXDOMAIN.

usage: dkimverify.py MESSAGE.eml SELECTOR DOMAIN rsa|ed25519 PUBLIC_KEY.der

PUBLIC_KEY.der is `openssl pkey -pubout -outform DER` (or, when the name ends in .p, the
p= value itself, as published): for RSA the SubjectPublicKeyInfo is the
DKIM p= value as it is; for Ed25519, p= is the raw 32-byte key (RFC 8463), the DER's tail.

Exit status: 0 when the message has at least one signature and all of them verify, 1 when
one does not (or there is none), 2 on bad usage. Prints one line per signature.
"""
import base64
import re
import sys

import dkim


def main(argv):
    if len(argv) != 6 or argv[4] not in ("rsa", "ed25519"):
        print(__doc__, file=sys.stderr)
        return 2
    message_path, selector, domain, key_type, der_path = argv[1:]
    with open(message_path, "rb") as f:
        message = f.read()
    with open(der_path, "rb") as f:
        der = f.read()
    if der_path.endswith(".p"):
        # The p= value exactly as a user would publish it (README's command), not a key.
        published = der.strip()
    else:
        public = der[-32:] if key_type == "ed25519" else der
        published = base64.b64encode(public)
    record = b"v=DKIM1; k=%s; p=%s" % (key_type.encode(), published)
    wanted = ("%s._domainkey.%s." % (selector, domain)).lower().encode()

    def dnsfunc(name, timeout=5):
        name = name.lower()
        if not name.endswith(b"."):
            name += b"."
        return record if name == wanted else None

    count = len(re.findall(rb"(?im)^dkim-signature:", message.split(b"\r\n\r\n", 1)[0]))
    if count == 0:
        print("no DKIM-Signature header")
        return 1
    verifier = dkim.DKIM(message)
    ok = True
    for idx in range(count):
        try:
            result = verifier.verify(idx=idx, dnsfunc=dnsfunc)
        except dkim.DKIMException as e:
            print("signature %d: error: %s" % (idx, e))
            result = False
        else:
            print("signature %d: %s" % (idx, "pass" if result else "FAIL"))
        ok = ok and result
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
