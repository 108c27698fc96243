import { createServer } from 'node:net';

// Ports handed out by the kernel for listen(0) come from the ephemeral range, which outgoing connections
// (Redis clients, fetch) also draw from: a port that was free a moment ago could be some client's local port
// by the time a server binds it (EADDRINUSE). Servers started by tests therefore take ports below the
// ephemeral range (Linux default 32768-60999), never the same one twice in this process.
const LOW = 20000;
const HIGH = 32000;
const handedOut = new Set<number>();

function tryListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A TCP port on 127.0.0.1, outside the ephemeral range, that was free a moment ago. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (handedOut.has(port)) {
      continue;
    }
    if (await tryListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free loopback port between ${LOW} and ${HIGH}`);
}
