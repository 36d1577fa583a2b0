/**
 * `streamsx-stt serve [graph.yaml] [--port 8080] [--host 127.0.0.1] [--param name=value]...`
 *
 * Runs a live graph (graphs/ws-server.yaml by default) until SIGINT/SIGTERM; on the first signal the
 * server stops accepting sessions, finalises the open ones (each gets its final result and an end
 * message) and exits 0; a second signal exits at once.
 */
import { commandExtensions, commandHelp, type ExtensionOptions } from '../../toolkit/cli/extensions.js';

export const SERVE_HELP = `streamsx-stt serve [graph.yaml] [--port N] [--host H] [--param name=value]... [--verbose]
  Runs a live transcription server (default graph: graphs/ws-server.yaml) until SIGINT/SIGTERM.
  The caption page is at http://<host>:<port>/, the WebSocket at ws://<host>:<port>/ws (docs/live-input.md).
  --port N    TCP port (default 8080; 0 = any free port); the graph's 'port' parameter
  --host H    interface (default 127.0.0.1, loopback only); the graph's 'host' parameter
  On the first signal open sessions are finalised (final results, end message) and the server exits 0.`;

export async function serve(args: string[], opts: ExtensionOptions): Promise<number> {
  if (args.length > 1) {
    opts.log.info(`streamsx-stt: serve takes at most one graph file\n${SERVE_HELP}`);
    return 2;
  }
  const params: Record<string, string> = { ...(opts.params ?? {}) };
  if (opts.port !== undefined) params.port = opts.port;
  if (opts.host !== undefined) params.host = opts.host;
  const { loadCommandGraph } = await import('../../toolkit/cli/command-graph.js');
  const plan = await loadCommandGraph('serve', args[0], 'graphs/ws-server.yaml', params, 'WebSocketSource', opts.log);
  if (!plan) return 2;
  const { runPlan } = await import('../../toolkit/runtime/run.js');
  const { untilSettled } = await import('../../toolkit/cli/settled.js');
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) process.exit(sig === 'SIGINT' ? 130 : 143);
    opts.log.info(`${sig}: no new sessions; finalising open sessions (send again to exit at once)`);
    controller.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await untilSettled(runPlan(plan, { log: opts.log, signal: controller.signal }), 'the server');
    const { getServer } = await import('./registry.js');
    for (const node of plan.nodes) {
      if (node.spec.kind !== 'WebSocketSource') continue;
      const server = getServer(String(node.params.server));
      if (server) await server.whenClosed();
    }
    opts.log.info(`served: ${result.streamsEnded} session(s) ended, ${result.errors.length} with errors or disconnects`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

commandExtensions.serve = serve;
commandHelp.serve = SERVE_HELP;
