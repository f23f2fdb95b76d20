import { createServer } from 'node:net';

/**
 * A TCP port free on the loopback interface right now (the OS picks it). Another process can take
 * it before the caller binds or publishes it: callers retry on "address already in use".
 * @throws Error when the OS gives no port
 */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}
