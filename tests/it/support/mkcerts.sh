#!/usr/bin/env bash
# Generate throw-away TLS material for rmail's integration tests.
#
#   bash tests/it/support/mkcerts.sh DIR
#
# Writes into DIR (created if missing):
#   ca.pem, ca.key              test CA (CA:TRUE) that tests pass to rmail as `ca_file`
#   server.pem, server.key      leaf signed by that CA: CN=localhost,
#                               SAN DNS:localhost + IP:127.0.0.1, CA:FALSE, 2 days
#   other-ca.pem, other-ca.key  a second, unrelated CA
#   untrusted.pem, untrusted.key  leaf with the same names, signed by the other CA:
#                               a server presenting it must be refused when only ca.pem is trusted
#
# Why a separate CA: rustls (webpki) refuses an end-entity certificate that is its own
# CA, which is what a plain `openssl req -x509` self-signed certificate is.
# EC P-256 keys: generation is instant, unlike RSA.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 64
fi
dir=$1
mkdir -p "$dir"
cd "$dir"

days=2

# Extensions for a CA and for a TLS server leaf, as openssl extension files.
cat > ca.ext <<'EOF'
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
cat > leaf.ext <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
serial() { echo "0x$(openssl rand -hex 8)"; }

# make_ca NAME CN: NAME.key + NAME.pem, self-signed with CA extensions.
make_ca() {
    newkey "$1.key"
    openssl req -new -x509 -key "$1.key" -out "$1.pem" -days "$days" -subj "/CN=$2" \
        -set_serial "$(serial)" -extensions v3 \
        -config <(printf '[req]\ndistinguished_name=dn\n[dn]\n[v3]\n'; cat ca.ext) 2>/dev/null
}

# make_leaf NAME CA: NAME.key + NAME.pem for CN=localhost, signed by CA.pem/CA.key.
make_leaf() {
    newkey "$1.key"
    openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=localhost" 2>/dev/null
    openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -out "$1.pem" \
        -days "$days" -set_serial "$(serial)" -extfile leaf.ext 2>/dev/null
    rm -f "$1.csr"
}

make_ca ca "rmail test CA"
make_leaf server ca
make_ca other-ca "rmail other (untrusted) CA"
make_leaf untrusted other-ca

rm -f ca.ext leaf.ext
# Python's ssl and rustls both read PKCS#8 / SEC1 keys; keep them private anyway.
chmod 600 ./*.key
