import { BrokerClient } from './broker-client';
import { loadCliConfig, type CliConfig } from './cli-config';
import { identitySource, type TokenSource } from './identity';
import { agentIdentity } from './agent/agent-client';

let loaded: CliConfig | undefined;

/** The CLI configuration (file + environment), read once per process. */
export function cliConfig(): CliConfig {
  loaded ??= loadCliConfig();
  return loaded;
}

/** The broker client for LEASH_URL (or the config file) with the caller's identity (see identity.ts). */
export function client(config: CliConfig = cliConfig()): BrokerClient {
  return new BrokerClient(
    config.url,
    identity(config),
    // Nothing configured and nothing on the default port: say how to point leash at the broker.
    config.urlSource === 'default'
      ? `; set LEASH_URL to your broker's URL (or "url" in ${config.filePath})`
      : undefined,
  );
}

/** The caller's identity token source: LEASH_TOKEN, the session agent, identityCommand, the OS keyring. */
export function identity(config: CliConfig = cliConfig()): TokenSource {
  const socket = config.agentSocket;
  return identitySource(config, socket ? () => agentIdentity(socket) : undefined);
}
