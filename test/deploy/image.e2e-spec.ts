import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ignore from '@balena/dockerignore';
import { DockerfileParser, type Copy } from 'dockerfile-ast';

// The image is checked without building it (no Docker daemon in CI): the build context that
// .dockerignore leaves, and what deploy/Dockerfile copies and runs.

const ROOT = join(__dirname, '..', '..');
const IGNORE_TEXT = readFileSync(join(ROOT, '.dockerignore'), 'utf8');
const ignored = ignore({ ignorecase: false }).add(IGNORE_TEXT);
const dockerfile = DockerfileParser.parse(readFileSync(join(ROOT, 'deploy', 'Dockerfile'), 'utf8'));

/** Files of this checkout that would reach the build context (ignored directories are pruned). */
function contextFiles(dir = ROOT): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    const rel = relative(ROOT, path);
    if (ignored.ignores(rel)) {
      return [];
    }
    return entry.isDirectory() ? contextFiles(path) : [rel];
  });
}

const stages = () => {
  const froms = dockerfile.getFROMs();
  const instructions = dockerfile.getInstructions();
  return froms.map((from, i) => {
    const start = from.getRange().start.line;
    const end = i + 1 < froms.length ? froms[i + 1].getRange().start.line : Number.MAX_SAFE_INTEGER;
    return {
      name: from.getBuildStage(),
      image: `${from.getImageName()}:${from.getImageTag()}`,
      instructions: instructions.filter((ins) => ins.getRange().start.line > start && ins.getRange().start.line < end),
    };
  });
};
const args = (ins: { getArguments(): { getValue(): string }[] }) => ins.getArguments().map((a) => a.getValue());

describe('build context (.dockerignore)', () => {
  it('has no re-include patterns, so pruning an ignored directory is what Docker does too', () => {
    expect(IGNORE_TEXT).not.toMatch(/^\s*!/m);
  });

  it('keeps secrets, history, host dependencies and test output out of the context', () => {
    const mustNotSend = [
      '.git/config',
      '.leash-data/dev-issuer.jwk.json',
      '.leash-data/pids/api.pid',
      '.leash-data/redis/appendonlydir/appendonly.aof.1.incr.aof',
      'node_modules/jose/package.json',
      'apps/api/node_modules/x/index.js',
      'dist/apps/api/src/main.js',
      '.test-artifacts/logs/api.log',
      'coverage/lcov.info',
      'jwt-keys.json',
      'deploy/kubernetes/overlays/production/jwt-keys.json',
      'signing.pem',
      '.env',
      'npm-debug.log',
      'dump.rdb',
    ];
    expect(mustNotSend.filter((p) => !ignored.ignores(p))).toEqual([]);
  });

  it('sends nothing from this checkout that holds key material or local state', () => {
    const files = contextFiles();
    expect(files).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'apps/api/src/main.ts']));
    const leaked = files.filter(
      (f) =>
        /(^|\/)(\.git|\.leash-data|node_modules|dist|\.test-artifacts|coverage)(\/|$)/.test(f) ||
        /-----BEGIN [A-Z ]*PRIVATE KEY-----|"d"\s*:\s*"/.test(readFileSync(join(ROOT, f), 'latin1')),
    );
    expect(leaked).toEqual([]);
  });

  it('every path the Dockerfile copies from the context exists and is not excluded', () => {
    const copies = dockerfile.getCOPYs().filter((c: Copy) => !c.getFromFlag());
    const sources = copies.flatMap((c) => args(c).slice(0, -1));
    expect(sources.length).toBeGreaterThan(5);
    for (const source of sources) {
      expect({ source, exists: existsSync(join(ROOT, source)), ignored: ignored.ignores(source) }).toEqual({
        source,
        exists: true,
        ignored: false,
      });
      if (statSync(join(ROOT, source)).isDirectory()) {
        expect(contextFiles(join(ROOT, source)).length).toBeGreaterThan(0);
      }
    }
  });
});

describe('deploy/Dockerfile', () => {
  it('builds on an active LTS Node release named by exact version, the same in every stage', () => {
    const images = stages().map((s) => s.image);
    for (const image of images) {
      const version = /^node:(\d+)\.(\d+)\.(\d+)-[a-z]+(-slim)?$/.exec(image);
      expect(version).not.toBeNull();
      expect([22, 24]).toContain(Number(version?.[1]));
    }
    expect(new Set(images).size).toBe(1);
  });

  it('installs production dependencies with npm ci --omit=dev in a clean stage', () => {
    const deps = stages().find((s) => s.instructions.some((i) => /npm ci .*--omit=dev/.test(args(i).join(' '))));
    expect(deps).toBeDefined();
    // Clean: only the manifest and the lock file come in, nothing from another stage.
    const copied = deps?.instructions.filter((i) => i.getKeyword() === 'COPY') as Copy[];
    expect(copied.every((c) => !c.getFromFlag())).toBe(true);
    expect(copied.flatMap((c) => args(c).slice(0, -1)).sort()).toEqual(['package-lock.json', 'package.json']);
    const final = stages().at(-1);
    const fromDeps = (final?.instructions.filter((i) => i.getKeyword() === 'COPY') as Copy[]).filter(
      (c) => args(c)[0] === '/app/node_modules',
    );
    expect(fromDeps.map((c) => c.getFromFlag()?.getValue())).toEqual([deps?.name]);
  });

  it('runs as a non-root user and copies only what it runs (no `COPY . .`)', () => {
    const final = stages().at(-1);
    const user = final?.instructions.filter((i) => i.getKeyword() === 'USER').map((i) => args(i)[0]);
    expect(user).toHaveLength(1);
    expect(user?.[0]).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/);
    for (const c of dockerfile.getCOPYs()) {
      expect(args(c)[0]).not.toBe('.');
    }
    // The application files stay root-owned, so the runtime user cannot change them.
    for (const c of final?.instructions.filter((i) => i.getKeyword() === 'COPY') ?? []) {
      expect(c.getTextContent()).not.toMatch(/--chown|--chmod/);
    }
  });
});
