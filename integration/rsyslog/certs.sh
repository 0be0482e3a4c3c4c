#!/bin/sh
# Makes a throwaway CA and the two TLS certificates of the syslog test (the cage host
# cps1.cage.test and the SIEM siem.cage.test) in DIR; the CA's key is deleted once used.
# Usage: certs.sh DIR
set -eu
dir=$1
install -d -m 0755 "$dir"
cd "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -subj /CN=cage-test-ca -keyout ca-key.pem -out ca.pem 2>/dev/null
for name in cps1 siem; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name.cage.test" \
    -keyout "$name-key.pem" -out "$name.csr" 2>/dev/null
  printf 'subjectAltName=DNS:%s.cage.test\nextendedKeyUsage=serverAuth,clientAuth\n' "$name" > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 30 \
    -extfile "$name.ext" -out "$name-cert.pem" 2>/dev/null
done
rm -f ca-key.pem ca.srl ./*.csr ./*.ext
chmod 0600 ./*-key.pem
