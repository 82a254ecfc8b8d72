import { readHost, readPort, type Env } from './env.js'

/** Where the Prometheus endpoint listens: its own port, never the public one. */
export interface MetricsConfig {
  readonly port: number
  readonly host: string
}

export function parseMetricsConfig(env: Env): MetricsConfig {
  return {
    port: readPort(env, 'METRICS_PORT', 9091),
    // Loopback unless a deployment opens it: the metrics are for its own scraper.
    host: readHost(env, 'METRICS_HOST', '127.0.0.1'),
  }
}
