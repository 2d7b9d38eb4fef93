#!/bin/sh
# A manual judgment before a risky step, from any shell or CI job: raise an escalation, wait for
# a person to decide it in the opsdeck console (or `opsdeck approve`), and go on only if approved.
#   exit 0 approved · 3 rejected · 4 expired, cancelled or undecided within --wait
set -eu
: "${OPSDECK_TOKEN:?an agent token: opsdeck token new ci --agent}"
: "${OPSDECK_URL:=https://ops.example.com:7300}"
version="${1:?usage: deploy-gate.sh VERSION}"

if opsdeck escalate --connect "$OPSDECK_URL" \
    --category scope_change \
    --summary "deploy $version to production" \
    --details "pipeline ${CI_PIPELINE_URL:-local}; changes: $(git log --oneline -5 | tr '\n' ';')" \
    --option "deploy now" --option "wait for the morning" \
    --session "${CI_JOB_ID:-$$}" \
    --wait 30m -o json > decision.json
then
  echo "approved: $(jq -r '.votes[-1].by + ": " + .votes[-1].reason' decision.json)"
  ./deploy.sh "$version"
else
  code=$?
  echo "not deploying (exit $code): $(jq -r '.state' decision.json 2>/dev/null || echo unknown)" >&2
  exit "$code"
fi
