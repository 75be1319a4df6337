#!/bin/sh
# A wrapper that drops the hub's internal-SSL settings and serves plain HTTP: fine on a
# hub without internal_ssl, unreachable for one that connects with TLS.
unset JUPYTERHUB_SSL_KEYFILE JUPYTERHUB_SSL_CERTFILE JUPYTERHUB_SSL_CLIENT_CA
JUPYTERHUB_SERVICE_URL=$(printf '%s' "${JUPYTERHUB_SERVICE_URL:-}" | sed 's|^https://|http://|')
export JUPYTERHUB_SERVICE_URL
exec "$@"
