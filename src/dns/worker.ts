// A UDP worker process (started by workers.ts, never by hand): a replica of the serving
// process's model, built from the changes it is sent, and an engine of its own (forwarder,
// cache, metrics) answering the UDP sockets it is handed. Node.js reads and writes datagrams on
// one thread; a few of these put the other cores to work on the same sockets. It exits when its
// parent goes (the IPC channel closes), so a crashed server leaves no process holding its ports.
import type dgram from 'node:dgram';
import { Registry } from 'prom-client';
import { log } from './log.ts';
import { DnsModel, applyOp, modelDigest } from './model.ts';
import { createEngine, serveUdp, type EngineParts } from './setup.ts';
import type { ToWorker, FromWorker } from './workers.ts';

const registry = new Registry();
const model = new DnsModel();
let parts: EngineParts | undefined;
let stopped = false;
const sockets: dgram.Socket[] = [];

function send(m: FromWorker): void {
  if (process.connected) process.send?.(m);
}

function stop(code: number): void {
  if (stopped) return;
  stopped = true;
  parts?.close();
  let open = sockets.length;
  if (open === 0) process.exit(code);
  for (const s of sockets) {
    // Closing this process's descriptor leaves the socket open in the others.
    s.close(() => {
      if (--open === 0) process.exit(code);
    });
  }
  setTimeout(() => process.exit(code), 1000).unref();
}

process.on('message', (m: ToWorker, handle?: dgram.Socket) => {
  switch (m.t) {
    case 'init':
      parts = createEngine(model, m.settings, registry);
      break;
    case 'ops':
      for (const op of m.ops) applyOp(model, op);
      // The serving process's SOA serial, so every process answers the same one.
      model.serial = m.serial;
      break;
    case 'socket':
      if (!parts || !handle) return;
      sockets.push(handle);
      serveUdp(parts.engine, handle, m.index, m.v6, m.server, () => stopped);
      if (sockets.length === m.of) send({ t: 'ready', pid: process.pid });
      break;
    case 'ping':
      send({ t: 'pong', id: m.id });
      break;
    case 'metrics':
      void registry.getMetricsAsJSON().then((metrics) => send({ t: 'metrics', id: m.id, metrics }));
      break;
    case 'digest':
      send({ t: 'digest', id: m.id, digest: modelDigest(model) });
      break;
    case 'crash':
      // Tests only: a worker that dies as a bug would kill it.
      process.exit(70);
      break;
    case 'hang':
      // Tests only: a worker stuck as an endless loop would leave it.
      for (;;) {
        // never answers again
      }
    case 'stop':
      stop(0);
      break;
  }
});

// The parent is gone (crashed, killed): nothing will feed the replica any more.
process.on('disconnect', () => stop(0));
process.on('SIGTERM', () => stop(0));
// Ctrl-C reaches the whole process group: the serving process decides when workers stop.
process.on('SIGINT', () => undefined);
process.on('uncaughtException', (err) => {
  log.error({ err: err.message, pid: process.pid }, 'dns worker: uncaught exception; exiting (the server starts another)');
  process.exit(70);
});
