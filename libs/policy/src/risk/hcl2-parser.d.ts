declare module 'hcl2-parser' {
  /** Parses HCL2 text; returns [object, null] or [null, error]. */
  export function parseToObject(text: string): [Record<string, unknown> | null, unknown];
}
