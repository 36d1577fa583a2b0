/**
 * `streamsx-stt serve [graph.yaml] [--port 8080] [--host 127.0.0.1] [--param name=value]...`
 *
 * Runs a live graph (graphs/ws-server.yaml by default) until SIGINT/SIGTERM; on the first signal the
 * server stops accepting sessions, finalises the open ones (each gets its final result and an end
 * message) and exits 0; a second signal exits at once.
 */
import { getServer } from '../../../operators/websocket/index.js';
import { parseParams, type Command } from '../command.js';
import { loadCommandGraph } from '../command-graph.js';
import { runWithSignals } from '../run-with-signals.js';

const HELP = `streamsx-stt serve [graph.yaml] [--port N] [--host H] [--param name=value]... [--verbose]
  Runs a live transcription server (default graph: graphs/ws-server.yaml) until SIGINT/SIGTERM.
  The caption page is at http://<host>:<port>/, the WebSocket at ws://<host>:<port>/ws (docs/live-input.md).
  --port N    TCP port (default 8080; 0 = any free port); the graph's 'port' parameter
  --host H    interface (default 127.0.0.1, loopback only); the graph's 'host' parameter
  On the first signal open sessions are finalised (final results, end message) and the server exits 0.`;

export const serve: Command = {
  name: 'serve',
  help: HELP,
  async run(args, opts) {
    const params = parseParams(opts.param);
    if (args.length > 1) {
      opts.log.info(`streamsx-stt: serve takes at most one graph file\n${HELP}`);
      return 2;
    }
    if (opts.port !== undefined) params.port = opts.port;
    if (opts.host !== undefined) params.host = opts.host;
    const plan = await loadCommandGraph('serve', args[0], 'graphs/ws-server.yaml', params, 'WebSocketSource', opts.log);
    if (!plan) return 2;
    const { result } = await runWithSignals(plan, {
      log: opts.log,
      what: 'the server',
      stopping: 'no new sessions; finalising open sessions',
      after: async () => {
        for (const node of plan.nodes) {
          if (node.spec.kind !== 'WebSocketSource') continue;
          const server = getServer(String(node.params.server));
          if (server) await server.whenClosed();
        }
      },
    });
    opts.log.info(`served: ${result.streamsEnded} session(s) ended, ${result.errors.length} with errors or disconnects`);
    return 0;
  },
};
