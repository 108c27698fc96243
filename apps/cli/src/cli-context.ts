import { BrokerClient } from './broker-client';
import { Exit, ExitError } from './cli-errors';

/** The broker client configured from LEASH_URL and LEASH_TOKEN. */
export function client(): BrokerClient {
  const token = process.env.LEASH_TOKEN;
  if (!token) {
    throw new ExitError(Exit.Unauthenticated, 'LEASH_TOKEN is not set: export an identity token first');
  }
  return new BrokerClient((process.env.LEASH_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, ''), token);
}
