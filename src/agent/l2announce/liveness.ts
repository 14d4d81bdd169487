// Which nodes' announcers are alive, learnt from the announcers themselves (the part MetalLB's
// speakers use memberlist for, on the same port 7946): every announcer sends a small UDP
// heartbeat to every other node's address each interval, and counts a peer alive while it has
// heard from it within deadAfter. A node cut off from the LAN, or whose agent died, falls silent
// and the others move its addresses in seconds, without waiting for the node lifecycle
// controller's 40 s grace period. Each node judges for itself: no shared state.
//
// Until it has listened for warmup, an announcer does not know yet who is alive and says so
// (alive() is undefined); the caller then counts every Ready node.
import { createSocket, type Socket } from 'node:dgram';
import type { Logger } from '../../util/index.ts';

export const defaultLivenessPort = 7946;

export interface Peer {
  name: string;
  /** Addresses it may send from (its InternalIPs); the first is where heartbeats go. */
  addresses: readonly string[];
}

/** Pure bookkeeping: when each peer was last heard from. */
export class LivenessTable {
  readonly #heard = new Map<string, number>();

  heard(name: string, now: number): void {
    this.#heard.set(name, now);
  }

  /** The peers heard from within deadAfterMs before now. */
  alive(now: number, deadAfterMs: number): Set<string> {
    const out = new Set<string>();
    for (const [name, at] of this.#heard) if (now - at <= deadAfterMs) out.add(name);
    return out;
  }

  forget(keep: ReadonlySet<string>): void {
    for (const name of this.#heard.keys()) if (!keep.has(name)) this.#heard.delete(name);
  }
}

const magic = 'svcnet-l2';

/** A heartbeat's payload, and whether a datagram is one (from whom). */
export function encodeHeartbeat(node: string): Buffer {
  return Buffer.from(JSON.stringify({ [magic]: 1, node }));
}

export function decodeHeartbeat(b: Buffer): string | undefined {
  if (b.length > 512) return undefined;
  try {
    const v = JSON.parse(b.toString('utf8')) as Record<string, unknown>;
    return v[magic] === 1 && typeof v.node === 'string' && v.node !== '' ? v.node : undefined;
  } catch {
    return undefined;
  }
}

export interface Liveness {
  /** The nodes whose announcer is alive (this one included), or undefined while warming up. */
  alive(): ReadonlySet<string> | undefined;
  stop(): Promise<void>;
}

export interface PeerLivenessOptions {
  nodeName: string;
  /** Where to listen (the node's address). */
  bindAddress: string;
  port?: number;
  /** The other nodes, asked again at every beat. */
  peers: () => readonly Peer[];
  /** Called when the set of live nodes changes (or warm-up ends). */
  onChange: () => void;
  intervalMs?: number;
  deadAfterMs?: number;
  /** Default: twice the interval. */
  warmupMs?: number;
  log: Logger;
  now?: () => number;
}

/** Heartbeats over UDP. */
export class PeerLiveness implements Liveness {
  readonly #o: PeerLivenessOptions;
  readonly #table = new LivenessTable();
  readonly #started: number;
  #socket: Socket | undefined;
  #timer: NodeJS.Timeout | undefined;
  #checker: NodeJS.Timeout | undefined;
  #last = '';
  #warm = false;

  private constructor(o: PeerLivenessOptions) {
    this.#o = o;
    this.#started = this.#now();
  }

  static async start(o: PeerLivenessOptions): Promise<PeerLiveness> {
    const l = new PeerLiveness(o);
    const family = o.bindAddress.includes(':') ? 'udp6' : 'udp4';
    const s = createSocket({ type: family, reuseAddr: true });
    s.on('message', (msg, rinfo) => l.#onMessage(msg, rinfo.address));
    s.on('error', (err) => o.log.warn({ err }, 'l2 liveness socket error'));
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(o.port ?? defaultLivenessPort, o.bindAddress, () => {
        s.off('error', reject);
        resolve();
      });
    });
    l.#socket = s;
    l.#timer = setInterval(() => l.#beat(), o.intervalMs ?? 1000);
    // Silence is noticed within a quarter of an interval, not at the next beat.
    l.#checker = setInterval(() => l.#check(), Math.max(10, Math.floor((o.intervalMs ?? 1000) / 4)));
    l.#beat();
    return l;
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  #onMessage(msg: Buffer, from: string): void {
    const node = decodeHeartbeat(msg);
    if (!node || node === this.#o.nodeName) return;
    // Only from the address the API says the node has.
    const peer = this.#o.peers().find((p) => p.name === node);
    if (!peer || !peer.addresses.includes(from)) return;
    this.#table.heard(node, this.#now());
    this.#check();
  }

  #beat(): void {
    const s = this.#socket;
    if (!s) return;
    const msg = encodeHeartbeat(this.#o.nodeName);
    const peers = this.#o.peers();
    this.#table.forget(new Set(peers.map((p) => p.name)));
    for (const p of peers) {
      const to = p.addresses[0];
      if (!to || p.name === this.#o.nodeName) continue;
      s.send(msg, this.#o.port ?? defaultLivenessPort, to, () => {
        // An unreachable peer (cable cut) is what silence already tells.
      });
    }
    this.#check();
  }

  #check(): void {
    if (!this.#warm && this.#now() - this.#started >= (this.#o.warmupMs ?? 2 * (this.#o.intervalMs ?? 1000))) this.#warm = true;
    const alive = this.alive();
    const key = alive ? [...alive].sort().join(',') : '';
    if (alive && key !== this.#last) {
      this.#last = key;
      this.#o.onChange();
    }
  }

  alive(): ReadonlySet<string> | undefined {
    if (!this.#warm) return undefined;
    const set = this.#table.alive(this.#now(), this.#o.deadAfterMs ?? 5000);
    set.add(this.#o.nodeName);
    return set;
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#checker) clearInterval(this.#checker);
    this.#timer = undefined;
    this.#checker = undefined;
    const s = this.#socket;
    this.#socket = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
