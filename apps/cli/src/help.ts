/** Help texts of `leash` and each subcommand (`leash help CMD`, `leash CMD --help`). */
export const LEASH_VERSION = '0.1.0';

const EXIT_CODES = `Exit codes:
  0 ok   2 usage   3 denied   4 expired or timed out   5 broker unreachable   6 not authenticated   1 other failure`;

export const MAIN_HELP = `leash ${LEASH_VERSION} — just-in-time credentials for agent sessions

Usage: leash COMMAND [ARGS]   (leash help COMMAND for details)

Credentials:
  request ROLE --env ENV --reason TEXT   ask for a credential; --wait for approval; --format env|json|aws-credential-process|gcp-executable
  run [--session ID] -- CMD              session agent: serves credentials to CMD's tools, revokes them when CMD exits
  credential-process ROLE --env ENV      AWS credential_process helper (JSON Version 1 on stdout)
  gcp-token ROLE --env ENV               Google executable-sourced credential helper
  kube-exec ROLE --env ENV               kubectl exec credential plugin (ExecCredential on stdout)
  kubeconfig ROLE --env ENV              print a kubeconfig user entry that runs kube-exec
  revoke LEASE_ID | --session ID         revoke now (--env/--role/--principal: break glass, admins)

State:
  status [REQUEST_ID]                    a request's state, or (inside leash run) the session agent's
  leases [--session ID] [--json]         your leases (no secrets)
  whoami                                 the identity the broker sees

Identity:
  login                                  OIDC device sign-in (token kept in the agent's memory or the OS keyring)

Approvers:
  approve REQUEST_ID [--comment TEXT]    approve (API channel)
  deny REQUEST_ID [--comment TEXT]       deny

Platform teams:
  policy validate FILE                   check a policy file (line and reason of every error)
  policy explain --principal SUB --role ROLE --env ENV   what the broker's policy decides, and why

Auditors:
  audit verify [--from-file EXPORT.jsonl ...] [--checkpoint FILE] [--jwks FILE]   verify the audit hash chain here

Integrations:
  mcp                                    stdio MCP server: request_access, access_status, list_leases, revoke

Environment:
  LEASH_URL         broker URL (default: "url" in the config file, else http://127.0.0.1:8080)
  LEASH_TOKEN       static identity token (CI); wins over every other identity source
  LEASH_SESSION     agent session id for requests (set by leash run)
  LEASH_AGENT_SOCK  session agent socket (set by leash run for CMD)
  LEASH_CONFIG      config file (default $XDG_CONFIG_HOME/leash/config.json or ~/.config/leash/config.json)

${EXIT_CODES}
`;

const ASK_OPTIONS = `  --env ENV             environment (required)
  --reason TEXT         why; shown to approvers (default names the helper)
  --ttl DURATION        lifetime, e.g. 15m (default: the environment's default; above the maximum is refused)
  --timeout DURATION    how long to wait for approval (default 15m); then the request is cancelled, exit 4`;

export const COMMAND_HELP: Record<string, string> = {
  request: `Usage: leash request ROLE --env ENV --reason TEXT [options]

Creates an access request. Auto-approved requests are claimed at once; others print the pending request
(approval URL, risk, quorum) unless --wait, which shows progress on stderr (spinner, elapsed time,
approval URL, quorum) and claims the credential once approved. Ctrl-C while waiting cancels the request.

Options:
${ASK_OPTIONS}
  --wait                wait for a human approval
  --plan FILE           attach the proposed change (e.g. terraform plan output); shown to approvers, part of the digest
  --session ID          agent session (default LEASH_SESSION); its leases end with the session
  --format FORMAT       json (default) | env (shell exports) | aws-credential-process | gcp-executable

The credential goes to stdout only; everything else to stderr.
${EXIT_CODES}
`,
  run: `Usage: leash run [--session ID] [--idle DURATION] [--login] [--timeout DURATION] -- CMD [ARGS...]

The session agent (like ssh-agent). Registers the agent session with the broker (POST /v1/sessions),
heartbeats while CMD runs, holds issued credentials in its memory only and serves them over a Unix socket
(mode 0600 in a private 0700 directory under $XDG_RUNTIME_DIR or the temp dir). CMD gets LEASH_AGENT_SOCK,
LEASH_SESSION and LEASH_URL (not LEASH_TOKEN). When CMD exits the agent ends the session and the broker
revokes its leases; if the agent dies, the broker revokes them once the session is idle past --idle.

Options:
  --session ID          session id (default LEASH_SESSION, "session" in the config, else random)
  --idle DURATION       idle limit at the broker (default 2m, 2s..24h); heartbeats every third of it
  --login               sign in with the OIDC device flow first (also automatic when only "oidc" is configured)
  --timeout DURATION    how long helpers wait for approvals (default 15m)

Exit code: CMD's exit code (128+N if killed by signal N).
`,
  'credential-process': `Usage: leash credential-process ROLE --env ENV [--reason TEXT] [--ttl DURATION] [--min-remaining DURATION]

For the AWS SDKs' and CLI's credential_process (~/.aws/config):
  [profile prod]
  credential_process = leash credential-process prod-deploy --env production

Prints {"Version":1,"AccessKeyId","SecretAccessKey","SessionToken","Expiration"} and nothing else on stdout.
Under leash run the agent answers from memory and reuses the session's lease while more than
--min-remaining (default 5m) remains; otherwise it asks (and waits) for approval. Outside an agent every
call is a new request.

Options:
${ASK_OPTIONS}
  --min-remaining DURATION  reuse a held credential only while it has at least this long left (default 5m)
${EXIT_CODES}
`,
  'gcp-token': `Usage: leash gcp-token ROLE --env ENV [--reason TEXT] [--ttl DURATION] [--min-remaining DURATION]

Google executable-sourced credentials: prints {"version":1,"success":true,"token_type":
"urn:ietf:params:oauth:token-type:jwt","id_token":"<Leash-signed JWT>","expiration_time":<epoch s>} for a jwt
role whose token Google STS accepts through workload identity federation; on failure
{"version":1,"success":false,"code","message"} and a non-zero exit. Needs GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1.
Reuse through the session agent as for credential-process.

Options:
${ASK_OPTIONS}
  --min-remaining DURATION  reuse a held credential only while it has at least this long left (default 5m)
${EXIT_CODES}
`,
  'kube-exec': `Usage: leash kube-exec ROLE --env ENV [--reason TEXT] [--ttl DURATION] [--session ID] [--timeout DURATION]

kubectl exec credential plugin (docs/kubernetes.md). Reads KUBERNETES_EXEC_INFO and answers in the apiVersion
kubectl asked for (client.authentication.k8s.io/v1 or v1beta1) with an ExecCredential {status: {token,
expirationTimestamp}} on stdout; progress and the approval URL go to stderr. Nothing is written to disk.
${EXIT_CODES}
`,
  kubeconfig: `Usage: leash kubeconfig ROLE --env ENV [--name NAME] [--command leash] [--reason TEXT] [--ttl DURATION] [--session ID]

Prints a kubeconfig \`users\` entry whose exec plugin is \`leash kube-exec ROLE --env ENV\` (docs/kubernetes.md).
`,
  audit: `Usage: leash audit verify [--from-file EXPORT.jsonl ...] [--checkpoint FILE] [--jwks FILE]

Verifies the audit trail's hash chain on this machine and reports the first broken link (changed,
deleted, reordered or inserted event). With --from-file: JSON Lines exports, offline (rotated files
oldest first). Without: the events the broker serves (GET /v1/audit, admins only), checked against its
latest signed checkpoint. --checkpoint FILE (a checkpoint, a GET /v1/audit/checkpoints answer, or a bare
JWS) detects truncation; its signature is checked against --jwks FILE or LEASH_URL/.well-known/jwks.json.
Exit 0 when intact, 1 when broken or a checkpoint's signature is invalid.
${EXIT_CODES}
`,
  revoke: `Usage: leash revoke LEASE_ID
       leash revoke --session ID
       leash revoke --env ENV [--role ROLE] [--principal P] [--reason TEXT]

Revokes one lease now (the session agent forgets it), or every lease of an agent session and cancels its
open requests. Requesters may revoke their own; approvers and admins any.
With --env/--role/--principal (admins only): break glass. Every unrevoked lease matching all the given
selectors is revoked and matching pending or approved requests are cancelled; --reason goes into the audit
trail. Prints what was revoked, what the worker is still revoking, and warnings (e.g. an unknown environment).
${EXIT_CODES}
`,
  status: `Usage: leash status [REQUEST_ID]

With REQUEST_ID: the request (state, risk, approvals, quorum, lease id) as JSON.
Inside leash run without an id: the session agent's state (session, heartbeat, held leases; no secrets).
${EXIT_CODES}
`,
  leases: `Usage: leash leases [--session ID] [--env ENV] [--role ROLE] [--state STATE] [--json]

Lists leases: requesters see their own, approvers and admins all. No secrets (fingerprints only).
STATE: active | revoking | revoked | revocation_failed.
${EXIT_CODES}
`,
  whoami: `Usage: leash whoami

Checks the identity token with the broker and prints its subject, issuer, owner, groups and expiry
(never the token). Exit 6 when the broker refuses it.
${EXIT_CODES}
`,
  login: `Usage: leash login

Signs in with the OIDC device authorization grant against "oidc" in the config file
({"issuer","clientId","scope"?,"token"?: "id_token"|"access_token"}): open the printed URL, confirm the code.
The token is kept in the session agent's memory (inside leash run) or in the OS keyring (secret-tool);
never in a file. Without either, use leash run --login -- CMD.
${EXIT_CODES}
`,
  approve: `Usage: leash approve REQUEST_ID [--comment TEXT]

Approves through the API channel (refused for the requester, its owner, non-approvers, and roles that
accept the web console only).
${EXIT_CODES}
`,
  deny: `Usage: leash deny REQUEST_ID [--comment TEXT]
${EXIT_CODES}
`,
  mcp: `Usage: leash mcp

A Model Context Protocol server on stdio (JSON-RPC 2.0, one message per line) with tools:
  request_access {role, environment, reason, ttl?, plan?}   state, risk, approval URL; never a secret
  access_status {requestId}                                 pending / issued / denied / expired
  list_leases {session?, state?}                            lease ids, roles, expiry
  revoke {leaseId} | {session}
Run it under leash run (the agent's MCP config starts \`leash mcp\`): approved access is then claimed into the
agent's memory and the agent's tools pick it up through their helpers.
`,
};
COMMAND_HELP.policy = `Usage: leash policy validate FILE
       leash policy explain --principal SUB --role ROLE --env ENV [--owner O] [--group G]... [--ttl 15m] [--plan FILE]

validate: parses and checks a policy file locally (exit 2 with the line and reason of each problem).
explain: asks the broker (POST /v1/policy/explain) what it would decide for a hypothetical request.
${EXIT_CODES}
`;
COMMAND_HELP.help = 'Usage: leash help [COMMAND]\n';
