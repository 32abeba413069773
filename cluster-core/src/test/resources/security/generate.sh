#!/bin/sh
# Regenerates the test certificates of the security tests (RSA keys in PKCS#1 PEM, as Helm's genSignedCert
# makes them). Every member certificate shares the subject name "egress member" (Akka's TLS peer check needs
# one name in common); the role and the node are DNS names under role.egress-gateway / node.egress-gateway.
set -e
cd "$(dirname "$0")"
days=36500
ca() { # name
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.crt" -days $days -subj "/CN=$1" 2>/dev/null
}
member() { # file ca sans
  openssl req -newkey rsa:2048 -nodes -keyout "$1.key.pk8" -out "$1.csr" -subj "/CN=egress member" 2>/dev/null
  printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -out "$1.crt" -days $days -extfile "$1.ext" 2>/dev/null
  openssl rsa -in "$1.key.pk8" -traditional -out "$1.key" 2>/dev/null
  rm -f "$1.csr" "$1.ext" "$1.key.pk8"
}
ca ca
ca other-ca
member controller ca "DNS:controller.role.egress-gateway"
member gateway ca "DNS:gateway.role.egress-gateway"
member worker ca "DNS:worker.role.egress-gateway"
member worker-w1 ca "DNS:worker.role.egress-gateway,DNS:w1.node.egress-gateway"
member rogue ca "DNS:worker.role.egress-gateway,DNS:rogue.node.egress-gateway"
member forged-controller other-ca "DNS:controller.role.egress-gateway"
rm -f ./*.srl ca.key other-ca.key
