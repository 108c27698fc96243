/**
 * LEASH_AGENT_SOCK alone, without loading the config file or its schema: helpers that SDKs call on
 * every refresh (credential-process, gcp-token, kube-exec) answer from the agent without that cost.
 */
export function agentSocketFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.LEASH_AGENT_SOCK || undefined;
}
