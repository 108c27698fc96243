/** Compile-time exhaustiveness guard for switch statements over unions and enums. */
export function assertUnreachable(value: never): never {
  throw new Error(`Unreachable case: ${JSON.stringify(value)}`);
}
