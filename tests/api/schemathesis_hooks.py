"""Schemathesis hooks for the suite's run (SCHEMATHESIS_HOOKS=tests/api/schemathesis_hooks.py):
WHEP offers are SDP text, sent as they are."""

import schemathesis

schemathesis.serializer.alias("application/sdp", "text/plain")
