/** Matches a value against a glob where `*` is any run of characters and `?` one character. */
export function globMatch(pattern: string, value: string): boolean {
  let re = '^';
  for (const ch of pattern) {
    if (ch === '*') {
      re += '.*';
    } else if (ch === '?') {
      re += '.';
    } else {
      re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`${re}$`, 's').test(value);
}
