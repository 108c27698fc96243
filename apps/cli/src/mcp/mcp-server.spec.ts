import { PassThrough } from 'node:stream';
import { McpServer, RpcError } from './mcp-server';

async function exchange(lines: string[]): Promise<any[]> {
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (d: Buffer) => (text += d.toString()));
  const sut = new McpServer(input, output, '0.0.0-test');
  const done = sut.run();
  for (const line of lines) {
    input.write(`${line}\n`);
  }
  input.end();
  await done;
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

describe('McpServer (stdio JSON-RPC framing)', () => {
  it('negotiates the protocol version, lists the four tools and ignores notifications', async () => {
    const [init, list, ...rest] = await exchange([
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2099-01-01' } }),
      JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
      JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    ]);
    expect(init).toMatchObject({ jsonrpc: '2.0', id: 1, result: { protocolVersion: '2025-06-18' } });
    expect(list.result.tools.map((t: { name: string }) => t.name)).toEqual([
      'request_access',
      'access_status',
      'list_leases',
      'revoke',
    ]);
    expect(rest).toEqual([]);
  });

  it('answers malformed input with JSON-RPC errors and keeps serving', async () => {
    const replies = await exchange([
      '{oops',
      JSON.stringify({ id: 3, method: 'ping' }),
      JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'resources/list' }),
      JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'revoke', arguments: { x: 1 } } }),
      JSON.stringify({ jsonrpc: '2.0', id: 6, method: 'ping' }),
    ]);
    const byId = (id: unknown) => replies.find((r) => r.id === id);
    expect(replies.find((r) => r.id === null && r.error.code === RpcError.Parse)).toBeDefined();
    expect(byId(3).error.code).toBe(RpcError.InvalidRequest);
    expect(byId(4).error.code).toBe(RpcError.MethodNotFound);
    expect(byId(5).result.isError).toBe(true);
    expect(byId(6).result).toEqual({});
  });
});
