import { createHash } from 'node:crypto';
import { defineScript, scriptCommand } from './script-command';

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

describe('defineScript + scriptCommand', () => {
  const LUA = "return redis.call('GET', KEYS[1])";
  const client = (evalsha: (...a: unknown[]) => Promise<unknown>) => {
    const calls: { eval: unknown[][] } = { eval: [] };
    const c = {
      evalsha: jest.fn(evalsha),
      eval: jest.fn((...a: unknown[]) => {
        calls.eval.push(a);
        return Promise.resolve('from-eval');
      }),
    };
    return { c, calls };
  };

  it('runs the script by its SHA-1 with the key count first, and adds nothing to the client', async () => {
    const { c } = client(() => Promise.resolve('v'));
    defineScript(c, 'leashGet', { lua: LUA, numberOfKeys: 1 });

    await expect(scriptCommand(c, 'leashGet')('k1')).resolves.toBe('v');
    expect(c.evalsha).toHaveBeenCalledWith(createHash('sha1').update(LUA).digest('hex'), 1, 'k1');
    expect(Object.keys(c)).toEqual(['evalsha', 'eval']);
  });

  it('sends the script text (EVAL) when Redis does not have it cached (NOSCRIPT: it did not run)', async () => {
    const { c, calls } = client(() => Promise.reject(new Error('NOSCRIPT No matching script. Please use EVAL.')));
    defineScript(c, 'leashGet', { lua: LUA, numberOfKeys: 1 });

    await expect(scriptCommand(c, 'leashGet')('k1')).resolves.toBe('from-eval');
    expect(calls.eval).toEqual([[LUA, 1, 'k1']]);
  });

  it('does not send it again on any other error (it may have run): the caller gets the error', async () => {
    const { c, calls } = client(() => Promise.reject(new Error('Command timed out')));
    defineScript(c, 'leashGet', { lua: LUA });

    await expect(scriptCommand(c, 'leashGet')(1, 'k1')).rejects.toThrow('Command timed out');
    expect(calls.eval).toEqual([]);
  });
});
