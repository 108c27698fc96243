import { createHash } from 'node:crypto';

/** A Lua script: its text and, when fixed, how many of its arguments are keys (else the count comes first). */
export interface LuaScriptDefinition {
  lua: string;
  numberOfKeys?: number;
}

interface RegisteredScript extends LuaScriptDefinition {
  sha: string;
}

/** What a client needs to run a registered script: ioredis `Redis` and `Cluster` both have these. */
interface ScriptClient {
  evalsha(sha: string, ...args: (string | number)[]): Promise<unknown>;
  eval(lua: string, ...args: (string | number)[]): Promise<unknown>;
}

const registered = new WeakMap<object, Map<string, RegisteredScript>>();

/**
 * Registers a Lua script for a Redis client under a name, for `scriptCommand(client, name)`. Unlike ioredis's
 * `defineCommand`, nothing is added to the client: ioredis copies every command defined with `defineCommand` onto
 * each pipeline it builds (two properties per script), and with auto-pipelining it builds one per event-loop turn
 * that sends a command, so ~40 scripts made each of those pipelines cost ~24 µs instead of ~3 µs (bench/RESULTS.md,
 * branch r2-issuance). The script runs as `EVALSHA`, auto-pipelined like any command, and as `EVAL` (which caches
 * it) when Redis answers `NOSCRIPT` (a restarted or new server): a `NOSCRIPT` answer means it did not run at all.
 */
export function defineScript(client: object, name: string, definition: LuaScriptDefinition): void {
  let scripts = registered.get(client);
  if (!scripts) {
    scripts = new Map();
    registered.set(client, scripts);
  }
  const sha = createHash('sha1').update(definition.lua).digest('hex');
  scripts.set(name, { lua: definition.lua, numberOfKeys: definition.numberOfKeys, sha });
}

/**
 * A Lua script registered for a client with `defineScript` (or, for explicit pipelines, with ioredis's
 * `defineCommand`), as a function bound to that client, its arguments as the definition takes them.
 */
export function scriptCommand<T = unknown>(client: object, name: string): (...args: (string | number)[]) => Promise<T> {
  const script = registered.get(client)?.get(name);
  if (script) {
    return (...args) => runScript(client as ScriptClient, script, args) as Promise<T>;
  }
  const fn = (client as Record<string, unknown>)[name];
  if (typeof fn !== 'function') {
    throw new Error(`the Redis script ${name} is not defined on this client`);
  }
  return (fn as (...args: (string | number)[]) => Promise<T>).bind(client);
}

function runScript(client: ScriptClient, script: RegisteredScript, args: (string | number)[]): Promise<unknown> {
  const full = script.numberOfKeys === undefined ? args : [script.numberOfKeys, ...args];
  return client.evalsha(script.sha, ...full).catch((err: unknown) => {
    if (err instanceof Error && err.message.startsWith('NOSCRIPT')) {
      return client.eval(script.lua, ...full);
    }
    throw err;
  });
}
