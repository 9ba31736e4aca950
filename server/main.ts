/**
 * `npm start`: the demo centre (or the one in --config DIR / CC_CONFIG_DIR) on its embedded
 * defaults. Prints where to point a browser and who can log in.
 */
import { resolve } from 'node:path';
import { formatError } from './config/errors.ts';
import { ConfigLoadError } from './config/watcher.ts';
import { log } from '../lib/log.ts';
import { MediaWorkerMissing } from '../media/index.ts';
import { startCentre } from './call/centre.ts';

const argi = process.argv.indexOf('--config');
const configDir = resolve(argi > 0 ? (process.argv[argi + 1] ?? 'config') : (process.env.CC_CONFIG_DIR ?? 'config'));

try {
  const centre = await startCentre({ configDir });
  const { config, urls } = centre;
  const logins = config.agents.map(
    (a) => `  ${a.id}  ${(a.password ?? '(hashed)').padEnd(12)} ${a.name}  [${Object.keys(a.skills).join(', ')}]`,
  );
  process.stdout.write(
    [
      '',
      `${config.name} is running.`,
      `  Agent desktop:  ${urls.http}${urls.https ? `   HTTPS: ${urls.https} (WSS ${urls.https.replace(/^https/, 'wss')}sip)` : ''}`,
      ...(urls.https && /^(127\.|::1$|localhost$)/.test(config.server.http.host)
        ? ['                  (listening on loopback only: set server.http.host to 0.0.0.0 for agents on other machines)']
        : []),
      ...(centre.certificate
        ? [
            `  TLS certificate (${centre.certificate.source === 'self-signed' ? 'self-signed: compare this with the browser warning before accepting it' : centre.certificate.certFile}):`,
            `    SHA-256 ${centre.certificate.fingerprint}`,
          ]
        : []),
      `  SIP (UDP/TCP):  ${urls.sip}   WebSocket: ${urls.http.replace(/^http/, 'ws')}sip${urls.sips ? `   TLS: ${urls.sips}` : ''}`,
      `  Reports:        ${urls.http}api/v1/reports   Metrics: ${urls.http}metrics`,
      '',
      'Agent logins (agent  password  name  [skills]):',
      ...logins,
      '',
      'Place a demo call into the IVR (1 = sales):  npm run call -- --digits 1',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const shutdown = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ sig }, 'stopping');
    // Handled both ways: a stop that fails is logged and exits 1, not an unhandled rejection.
    void centre.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
} catch (e) {
  if (e instanceof ConfigLoadError) {
    console.error(`The config in ${configDir} is not valid:`);
    for (const err of e.errors) console.error(`  ${formatError(err)}`);
  } else if (e instanceof MediaWorkerMissing) {
    console.error(e.message);
  } else {
    console.error('The centre could not start:', e instanceof Error ? (e.stack ?? e.message) : e);
  }
  process.exit(1);
}
