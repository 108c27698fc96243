import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitError } from '../cli-errors';
import { scanEndpoint } from './scanner';
import { postureMessage, reportPosture } from './scan-report';

const SECRET = 'standingSecretForTheReportSpec/0123456789';

describe('leash scan --report', () => {
  let home: string;
  let server: Server;
  let status = 201;
  const seen: { method?: string; url?: string; auth?: string; body: string }[] = [];

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'leash-scan-report-'));
    mkdirSync(join(home, '.aws'));
    writeFileSync(
      join(home, '.aws', 'credentials'),
      `[prod]\naws_access_key_id = AKIAREPORTSPEC000001\naws_secret_access_key = ${SECRET}\n`,
    );
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
        res.writeHead(status, { 'content-type': status === 201 ? 'application/json' : 'text/plain' });
        res.end(status === 201 ? '{}' : '{"title":"Not Found"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    process.env.LEASH_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    process.env.LEASH_TOKEN = 'identity-token-of-the-spec';
    process.env.LEASH_CONFIG = join(home, 'no-config.json');
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(home, { recursive: true, force: true });
    delete process.env.LEASH_URL;
    delete process.env.LEASH_TOKEN;
    delete process.env.LEASH_CONFIG;
  });

  it('posts the findings as a warn session event with fingerprints only', async () => {
    const result = scanEndpoint({ home, cwd: home, env: {} });
    await reportPosture(result, 'sess-report');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/v1/sessions/sess-report/events' });
    const body = JSON.parse(seen[0].body) as { level: string; message: string };
    expect(body.level).toBe('warn');
    expect(body.message).toContain('endpoint posture: 1 standing credential(s), 1 reaching production');
    expect(body.message).toContain(`aws-static-key ~/.aws/credentials [prod] ${result.findings[0].fingerprint}`);
    expect(seen[0].body).not.toContain(SECRET);
    expect(seen[0].body).not.toContain(SECRET.slice(-4));
  });

  it('keeps a long report within its bound, saying how many findings it left out', () => {
    const many = scanEndpoint({ home, cwd: home, env: {} });
    const findings = Array.from({ length: 200 }, () => many.findings[0]);
    const message = postureMessage({ ...many, findings });
    expect(message.length).toBeLessThanOrEqual(1800);
    expect(message).toMatch(/… and \d+ more$/);
  });

  it('says so when the broker has no session events, and needs a session', async () => {
    status = 404;
    const result = scanEndpoint({ home, cwd: home, env: {} });
    await expect(reportPosture(result, 'sess-report')).rejects.toThrow(ExitError);
    await expect(reportPosture(result, 'sess-report')).rejects.toThrow(/no session events/);
    await expect(reportPosture(result, undefined)).rejects.toThrow(/needs an agent session/);
  });
});
