import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { exportJWK, generateKeyPair } from 'jose';
import { JwtKeySet } from './jwt-key-set';
import { keyFileExposure, type ProcessIdentity } from './key-file-permissions';

const FILE = 0o100000;
const leash: ProcessIdentity = { uid: 1000, groups: [1000] };

describe('keyFileExposure', () => {
  const sut = keyFileExposure;

  it('accepts a file only its owner can read', () => {
    expect(sut({ mode: FILE | 0o600, uid: 1000, gid: 1000 }, leash)).toBeUndefined();
    expect(sut({ mode: FILE | 0o400, uid: 1000, gid: 1000 }, leash)).toBeUndefined();
  });

  it('accepts what a Kubernetes Secret volume yields under fsGroup: root-owned, 0440, the pod group', () => {
    expect(sut({ mode: FILE | 0o440, uid: 0, gid: 1000 }, leash)).toBeUndefined();
    expect(sut({ mode: FILE | 0o640, uid: 0, gid: 1000 }, { uid: 1000, groups: [1000, 2000] })).toBeUndefined();
  });

  it('refuses a key other users can read', () => {
    expect(sut({ mode: FILE | 0o644, uid: 1000, gid: 1000 }, leash)).toMatch(/other users.*0644/);
    expect(sut({ mode: FILE | 0o444, uid: 0, gid: 1000 }, leash)).toMatch(/other users/);
  });

  it('refuses a group-readable key not owned by root (any member of the group could read it)', () => {
    expect(sut({ mode: FILE | 0o640, uid: 1000, gid: 1000 }, leash)).toMatch(/readable by group/);
  });

  it('refuses a root-owned key readable by a group this process is not in', () => {
    expect(sut({ mode: FILE | 0o440, uid: 0, gid: 2000 }, leash)).toMatch(/group 2000/);
  });

  it('refuses a group-writable key even when root-owned', () => {
    expect(sut({ mode: FILE | 0o460, uid: 0, gid: 1000 }, leash)).toMatch(/writable/);
  });

  it('never accepts a mode with any bit for others, whoever owns the file', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0o777 }).filter((m) => (m & 0o007) !== 0),
        fc.integer({ min: 0, max: 65535 }),
        fc.integer({ min: 0, max: 65535 }),
        (mode, uid, gid) => sut({ mode: FILE | mode, uid, gid }, { uid, groups: [gid] }) !== undefined,
      ),
    );
  });

  it('never accepts group access on a file not owned by root', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0o777 }).filter((m) => (m & 0o070) !== 0),
        fc.integer({ min: 1, max: 65535 }),
        (mode, uid) => sut({ mode: FILE | mode, uid, gid: uid }, { uid, groups: [uid] }) !== undefined,
      ),
    );
  });
});

describe('JwtKeySet.fromFile', () => {
  let dir: string;
  let path: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'leash-keys-'));
    path = join(dir, 'jwt-keys.json');
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    writeFileSync(path, JSON.stringify({ keys: [{ ...(await exportJWK(privateKey)), kid: 'k1' }] }));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads a 0600 key file', async () => {
    chmodSync(path, 0o600);
    await expect(JwtKeySet.fromFile(path)).resolves.toBeInstanceOf(JwtKeySet);
  });

  it('refuses a world-readable key file, naming the mode', async () => {
    chmodSync(path, 0o644);
    await expect(JwtKeySet.fromFile(path)).rejects.toThrow(/accessible to other users \(mode 0644/);
  });
});
