/**
 * A Lua script registered on a Redis client with `defineCommand(name, …)`, as a function bound to
 * that client (its arguments as the definition takes them). ioredis adds such commands at run
 * time, so its types do not name them.
 */
export function scriptCommand<T = unknown>(client: object, name: string): (...args: (string | number)[]) => Promise<T> {
  const fn = (client as Record<string, unknown>)[name];
  if (typeof fn !== 'function') {
    throw new Error(`the Redis script ${name} is not defined on this client`);
  }
  return (fn as (...args: (string | number)[]) => Promise<T>).bind(client);
}
