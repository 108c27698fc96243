import { scriptCommand } from './script-command';

describe('scriptCommand', () => {
  it('calls the script command bound to its client, with the arguments given', async () => {
    const client = {
      prefix: 'k',
      leashEcho(this: { prefix: string }, ...args: (string | number)[]) {
        return Promise.resolve([this.prefix, ...args]);
      },
    };

    await expect(scriptCommand(client, 'leashEcho')(1, 'a')).resolves.toEqual(['k', 1, 'a']);
  });

  it('names the script when the client has no such command (defineCommand not called)', () => {
    expect(() => scriptCommand({}, 'leashMissing')).toThrow('leashMissing');
  });
});
