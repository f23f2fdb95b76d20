/**
 * Two counters from the live core's Prometheus page (GET /metrics, core/observability/metrics.ts):
 * its process CPU seconds (prom-client's default `reclab_process_cpu_seconds_total`) and the
 * recommendation requests it answered (`reclab_http_request_duration_seconds_count`, summed over
 * status and rung). Read before and after a phase, their differences give CPU per request.
 */
import { request } from 'undici';

export interface CoreCounters {
  cpuSeconds: number;
  recommendations: number;
}

/**
 * Scrapes `baseUrl`/metrics.
 * @throws Error when the page is unreachable, not 200, or lacks the CPU counter
 */
export async function readCoreCounters(baseUrl: string): Promise<CoreCounters> {
  const res = await request(`${baseUrl}/metrics`, { headersTimeout: 5000, bodyTimeout: 5000 });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET ${baseUrl}/metrics: ${res.statusCode}`);
  let cpuSeconds: number | undefined;
  let recommendations = 0;
  // The exposition format is one sample per line: `name{labels} value`. Only these two are read.
  for (const line of text.split('\n')) {
    if (line.startsWith('reclab_process_cpu_seconds_total ')) cpuSeconds = Number(line.split(' ')[1]);
    else if (
      line.startsWith('reclab_http_request_duration_seconds_count{') &&
      line.includes('route="/v1/recommendations"')
    )
      recommendations += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  if (cpuSeconds === undefined || !Number.isFinite(cpuSeconds))
    throw new Error(`GET ${baseUrl}/metrics: no reclab_process_cpu_seconds_total`);
  return { cpuSeconds, recommendations };
}
