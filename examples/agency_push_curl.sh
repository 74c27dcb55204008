#!/usr/bin/env bash
# An agency pushes statistics with nothing but bash and curl: get a token, POST a CSV, print the
# import report. Needs RECNET_URL, RECNET_CLIENT_ID, RECNET_CLIENT_SECRET (scope statistics:write).
# Usage: agency_push_curl.sh [FILE.csv]   (without FILE, a small sample for Uzbekistan is sent)
set -euo pipefail

URL="${RECNET_URL:-http://127.0.0.1:8000}"
: "${RECNET_CLIENT_ID:?set RECNET_CLIENT_ID}" "${RECNET_CLIENT_SECRET:?set RECNET_CLIENT_SECRET}"

TOKEN=$(curl -sS --fail -u "$RECNET_CLIENT_ID:$RECNET_CLIENT_SECRET" \
    -d grant_type=client_credentials "$URL/v1/auth/token" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')

if [[ $# -ge 1 ]]; then
    BODY=$(cat "$1")
else
    BODY='REF_AREA,INDICATOR,SEX,AGE,COUNTERPART_AREA,TIME_PERIOD,OBS_VALUE
UZB,RETURNED,F,_T,SYR,2019,300
UZB,RETURNED,M,_T,SYR,2019,230
UZB,RETURNED,_T,_T,SYR,2019,530'
fi

# The same Idempotency-Key for the same file: re-running after a network failure is safe.
KEY="curl-$(printf '%s' "$BODY" | sha256sum | cut -c1-40)"
STATUS=$(printf '%s\n' "$BODY" | curl -sS -o report.json -w '%{http_code}' \
    -X POST "$URL/v1/statistics/observations" \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: text/csv' \
    -H "Idempotency-Key: $KEY" --data-binary @-)

echo "HTTP $STATUS"
python3 - report.json <<'PY'
import json, sys
answer = json.load(open(sys.argv[1]))
report = answer.get("report", answer)  # a refused import is a problem carrying the report
print("status:", report.get("status", answer.get("title")))
print("counts:", " ".join(f"{k}={v}" for k, v in report.get("counts", {}).items()))
for c in report.get("conflicts", []):
    print(f"  {c['severity']} {c['code']} {c.get('column') or ''}: {c['message']} lines {c['rows']}")
PY
rm -f report.json
[[ "$STATUS" == 200 ]]
