/**
 * The lab's proxy in front of the ranker tier, for the faults a process signal cannot make (issue
 * 12, `ranker_tier` `slow` and `nan`): the core's RECLAB_RANKER_TIER_URL points here, and the proxy
 * forwards every call to the tier (HTTP/1.1 keep-alive, loopback). Modes:
 * - `pass`: the tier's reply as is;
 * - `slow`: the reply held back so each call takes `slowFactor` × the tier's own time (a throttled
 *   GPU: the "p99 × 10");
 * - `nan`: a 200 reply's scores overwritten with NaN (every head of the RKP1 body,
 *   core/ranker-tier/wire-format.ts), which the core must refuse (RECLAB_ERR_RANKER_INVALID_OUTPUT).
 * The proxy is added only to runs whose scenario has such a fault, so other runs keep the direct path.
 */
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type RankerProxyMode = { kind: 'pass' } | { kind: 'slow'; slowFactor: number } | { kind: 'nan' };

export interface RankerFaultProxy {
  /** Base URL to give the core as RECLAB_RANKER_TIER_URL. */
  url: string;
  setMode(mode: RankerProxyMode): void;
  close(): Promise<void>;
}

/** RKP1 header: magic, rows, heads mask (12 bytes); the float32 scores follow. */
const HEADER_BYTES = 12;
/** Largest body relayed either way (a 1,000-row request is ~0.5 MiB). */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Starts the proxy on 127.0.0.1, an ephemeral port, forwarding to `tierUrl`. */
export async function startRankerFaultProxy(tierUrl: string): Promise<RankerFaultProxy> {
  const upstream = new URL(tierUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let mode: RankerProxyMode = { kind: 'pass' };
  const server: Server = createServer((req, res) => {
    const started = performance.now();
    const fail = (status: number, message: string) => {
      if (res.headersSent) return res.destroy();
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'RECLAB_ERR_RANKER_UNAVAILABLE', message } }));
    };
    const up = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
        agent,
      },
      (upRes) => {
        const chunks: Buffer[] = [];
        let size = 0;
        upRes.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES) upRes.destroy(new Error('reply too large'));
          else chunks.push(c);
        });
        upRes.on('error', (err) => fail(502, `ranker tier reply: ${err.message}`));
        upRes.on('end', () => {
          const body = Buffer.concat(chunks);
          const m = mode;
          if (m.kind === 'nan' && upRes.statusCode === 200 && body.length > HEADER_BYTES) {
            for (let o = HEADER_BYTES; o + 4 <= body.length; o += 4) body.writeFloatLE(Number.NaN, o);
          }
          const send = () => {
            const headers = { ...upRes.headers, 'content-length': String(body.length) };
            delete headers['transfer-encoding'];
            res.writeHead(upRes.statusCode ?? 502, headers);
            res.end(body);
          };
          if (m.kind === 'slow') {
            const tookMs = performance.now() - started;
            setTimeout(send, tookMs * (m.slowFactor - 1));
          } else send();
        });
      },
    );
    up.on('error', (err) => fail(502, `ranker tier: ${err.message}`));
    req.pipe(up);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setMode(m) {
      mode = m;
    },
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
