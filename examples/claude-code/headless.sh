#!/bin/sh
# A headless Claude Code run whose permission prompts go to opsdeck: tool calls the policy
# allows run, denied ones do not, and escalated ones wait (up to the policy's wait_s) for a
# person on call to decide them in the console. A call still undecided is denied with the
# escalation's id; the agent can wait on it with the escalation_wait tool and try again.
set -eu
: "${OPSDECK_TOKEN:?an agent token: opsdeck token new claude-ci --agent}"
exec claude -p "Tag release 4.2 and push the tag" \
  --mcp-config "$(dirname "$0")/mcp.json" \
  --permission-prompt-tool mcp__opsdeck__permission_prompt \
  --allowedTools "mcp__opsdeck__escalation_raise,mcp__opsdeck__escalation_wait,mcp__opsdeck__audit_record"
