import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The one Prometheus registry, served at /metrics. Each edge (sip, media, store, acd) registers its
 * own counter set here with its own name prefix.
 */
export const metrics = new Registry();
if (!process.env.VITEST) collectDefaultMetrics({ register: metrics });
