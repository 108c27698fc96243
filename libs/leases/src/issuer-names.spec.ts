import { IssuerNames, issuerIdOf } from './issuer-names';
import { LeaseError, LeaseErrorCode } from './lease.errors';
import { unpackLease } from './record-codec';

describe('issuer names of lease records', () => {
  it('an id is derived from the issuer (the same in every process), distinct for distinct issuers', () => {
    expect(issuerIdOf('https://idp.example')).toBe(issuerIdOf('https://idp.example'));
    expect(issuerIdOf('https://idp.example')).toMatch(/^[A-Za-z0-9_-]{8}$/);
    expect(issuerIdOf('https://idp.example')).not.toBe(issuerIdOf('https://idp.example/'));
    expect(new IssuerNames(() => Promise.resolve([])).idOf('https://idp.example')).toBe(issuerIdOf('https://idp.example'));
  });

  it('reads each name once per process, only those the records name; a missing name is reported corrupt', async () => {
    const stored: Record<string, string> = { a1: 'https://a.example', b2: 'https://b.example' };
    const reads: string[][] = [];
    const names = new IssuerNames((ids) => {
      reads.push(ids);
      return Promise.resolve(ids.map((id) => stored[id] ?? null));
    });
    const first = await names.resolve([{ is: 'a1' }, { is: 'a1' }, { i: 'verbatim' }, undefined]);
    expect([...first]).toEqual([['a1', 'https://a.example']]);
    const second = await names.resolve([{ is: 'a1' }, { is: 'b2' }]);
    expect([...second].sort()).toEqual([
      ['a1', 'https://a.example'],
      ['b2', 'https://b.example'],
    ]);
    expect(reads).toEqual([['a1'], ['b2']]);
    await expect(names.resolve([{ is: 'a1' }, { is: 'zz' }])).rejects.toMatchObject({ code: LeaseErrorCode.Corrupt });
    await expect(names.resolve([{ is: 'zz' }])).rejects.toBeInstanceOf(LeaseError);
    expect(reads).toEqual([['a1'], ['b2'], ['zz'], ['zz']]);
  });

  it('a lease naming its issuer by id reads back that exact issuer, and is refused without its name', () => {
    const hash = {
      r: 'req-1',
      ro: 'r',
      e: 'e',
      p: 'jwt',
      pr: 'agent-twin',
      is: 'a1',
      ia: '1',
      ea: '2',
      fl: 'abcd',
      fs: '0123456789abcdef',
      state: 'active',
    };
    expect(unpackLease('lease-1', hash, new Map([['a1', 'https://a.example']]))?.issuer).toBe('https://a.example');
    expect(() => unpackLease('lease-1', hash)).toThrow(/names issuer a1/);
    expect(() => unpackLease('lease-1', hash, new Map([['b2', 'https://b.example']]))).toThrow(/names issuer a1/);
    // Records of earlier versions (and a colliding id's) hold the issuer itself.
    const { is: _is, ...verbatim } = hash;
    expect(unpackLease('lease-1', { ...verbatim, i: 'https://a.example' })?.issuer).toBe('https://a.example');
  });
});
