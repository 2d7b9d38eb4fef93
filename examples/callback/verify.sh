#!/bin/sh
# Checks a decision callback's signature: opsdeck signs the raw body with HMAC-SHA256 and the
# server's callback secret, and sends `X-Opsdeck-Signature: sha256=<hex>`.
#   verify.sh SECRET_FILE BODY_FILE SIGNATURE_HEADER_VALUE
set -eu
secret="$(tr -d '\n' < "$1")"
want="sha256=$(openssl dgst -sha256 -hmac "$secret" -hex < "$2" | sed 's/^.*= //')"
if [ "$want" = "$3" ]; then echo "signature ok"; else echo "BAD SIGNATURE" >&2; exit 1; fi
