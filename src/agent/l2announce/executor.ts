// The thin shell of the layer 2 announcer: answering ARP for addresses (a small Python helper,
// arp_responder.py, on a raw socket; Node cannot open one) and gratuitous ARP when this node
// takes an address over (Debian's arping). Everything runs in the node's network namespace: the
// one the agent runs in, or `ip netns exec <netns>`.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../util/index.ts';
import { pythonCommand } from '../runtime/index.ts';

export const responderPath = fileURLToPath(new URL('./arp_responder.py', import.meta.url));

export interface L2Executor {
  /** The interface that holds `ip` in the node's namespace (where its LAN is), or undefined. */
  interfaceOf(ip: string): Promise<string | undefined>;
  /** From now on answer ARP on `iface` for exactly `addresses` (none: stop answering there). */
  setAddresses(iface: string, addresses: readonly string[]): Promise<void>;
  /** Tells the LAN that `address` is now at `iface`'s MAC address (gratuitous ARP). */
  gratuitousARP(iface: string, address: string): Promise<void>;
  close(): Promise<void>;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type RunCommand = (argv: readonly string[]) => Promise<CommandResult>;

export function runCommand(argv: readonly string[]): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

/** `ip -j addr show`'s view of one link (the fields the executors read). */
export interface IpLink {
  ifname?: string;
  addr_info?: { local?: string; label?: string; family?: string }[];
}

/** Both executors' commands, run in the node's namespace: `ip netns exec <netns>`, or the agent's own. */
export class NodeCommands {
  readonly #run: RunCommand;
  readonly #netns: string | undefined;

  constructor(run: RunCommand = runCommand, netns?: string) {
    this.#run = run;
    this.#netns = netns;
  }

  argv(argv: readonly string[]): string[] {
    return this.#netns ? ['ip', 'netns', 'exec', this.#netns, ...argv] : [...argv];
  }

  exec(argv: readonly string[]): Promise<CommandResult> {
    return this.#run(this.argv(argv));
  }

  /** The node's links and their addresses. */
  async links(): Promise<IpLink[]> {
    const r = await this.exec(['ip', '-j', 'addr', 'show']);
    if (r.code !== 0) throw new Error(`ip addr show: ${r.stderr.trim()}`);
    return JSON.parse(r.stdout || '[]') as IpLink[];
  }

  /** The interface holding `ip`, or undefined. */
  async interfaceOf(ip: string): Promise<string | undefined> {
    return (await this.links()).find((l) => l.addr_info?.some((a) => a.local === ip))?.ifname;
  }

  /** `arping -U` from the address itself, `count` times a second apart (default 2). */
  async gratuitousARP(iface: string, address: string, count = 2): Promise<void> {
    const r = await this.exec(['arping', '-q', '-U', '-c', String(count), '-I', iface, '-s', address, address]);
    // -U expects no answer; arping exits 0 (or 1 when it counts no reply, in some versions).
    if (r.code > 1) throw new Error(`arping -U ${address} on ${iface}: ${r.stderr.trim() || `exit ${r.code}`}`);
  }
}

export interface ArpExecutorOptions {
  /** Run in this named namespace (`ip netns exec`); default: the agent's own. */
  netns?: string;
  log: Logger;
  /** For tests: how commands run. */
  run?: RunCommand;
  /** Gratuitous ARPs sent per takeover, a second apart (default 2). */
  garpCount?: number;
}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

/** The real executor. */
export class ArpExecutor implements L2Executor {
  readonly #o: ArpExecutorOptions;
  readonly #cmd: NodeCommands;
  /** What the helper was last told per interface, replayed to a new helper. */
  readonly #sets = new Map<string, string[]>();
  #helper: ChildProcessWithoutNullStreams | undefined;
  #waiters: Waiter[] = [];
  #queue: Promise<void> = Promise.resolve();
  #nonlocalBind: Promise<void> | undefined;
  #closed = false;

  constructor(o: ArpExecutorOptions) {
    this.#o = o;
    this.#cmd = new NodeCommands(o.run, o.netns);
  }

  interfaceOf(ip: string): Promise<string | undefined> {
    return this.#cmd.interfaceOf(ip);
  }

  #spawn(): ChildProcessWithoutNullStreams {
    const argv = this.#cmd.argv([pythonCommand(), '-S', '-E', '-B', responderPath]);
    const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let buf = '';
    child.stdout.on('data', (b: Buffer) => {
      buf += b.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const w = this.#waiters.shift();
        if (!w) continue;
        try {
          const v = JSON.parse(line) as { ok?: string; error?: string };
          if (v.error !== undefined) w.reject(new Error(`arp responder: ${v.error}`));
          else w.resolve();
        } catch {
          w.reject(new Error(`arp responder: unexpected output ${JSON.stringify(line)}`));
        }
      }
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
    child.stdin.on('error', () => {});
    const gone = (why: string) => {
      if (this.#helper !== child) return;
      this.#helper = undefined;
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const w of waiters) w.reject(new Error(`arp responder ${why}${stderr ? `: ${stderr.trim()}` : ''}`));
      if (!this.#closed) {
        this.#o.log.warn({ why, stderr: stderr.trim() }, 'arp responder ended; starting it again');
        this.#revive(1000);
      }
    };
    child.on('error', (e) => gone(`could not start (${e.message})`));
    child.on('exit', (code, signal) => gone(`exited (${signal ?? code})`));
    return child;
  }

  #send(line: string): Promise<void> {
    const child = this.#helper;
    if (!child) return Promise.reject(new Error('arp responder not running'));
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      child.stdin.write(line + '\n');
    });
  }

  /** Runs fn after everything queued before it (one conversation with the helper at a time). */
  #enqueue(fn: () => Promise<void>): Promise<void> {
    const p = this.#queue.then(fn);
    this.#queue = p.catch(() => {});
    return p;
  }

  /** A new helper knows nothing: tell it every interface's addresses (but `skip`'s) again. */
  async #startHelper(skip?: string): Promise<void> {
    this.#helper = this.#spawn();
    for (const [i, list] of this.#sets) if (i !== skip && list.length) await this.#send(`set ${i} ${list.join(' ')}`);
  }

  /** The helper died under us: start it again (backing off while it keeps failing). */
  #revive(delayMs: number): void {
    setTimeout(() => {
      void this.#enqueue(async () => {
        if (this.#closed || this.#helper || [...this.#sets.values()].every((l) => l.length === 0)) return;
        try {
          await this.#startHelper();
          this.#o.log.info('arp responder started again');
        } catch (e) {
          this.#o.log.warn({ err: e }, 'could not start the arp responder again');
          this.#revive(Math.min(delayMs * 2, 10_000));
        }
      });
    }, delayMs).unref();
  }

  setAddresses(iface: string, addresses: readonly string[]): Promise<void> {
    return this.#enqueue(async () => {
      if (this.#closed) throw new Error('executor closed');
      if (!this.#helper) {
        if (addresses.length === 0 && [...this.#sets.values()].every((s) => s.length === 0)) {
          this.#sets.set(iface, []);
          return;
        }
        await this.#startHelper(iface);
      }
      await this.#send(`set ${iface}${addresses.length ? ' ' + addresses.join(' ') : ''}`);
      this.#sets.set(iface, [...addresses]);
    });
  }

  /**
   * arping binds its socket to the address it announces, which this node does not hold:
   * net.ipv4.ip_nonlocal_bind lets it (in the node's namespace only).
   */
  #allowNonlocalBind(): Promise<void> {
    this.#nonlocalBind ??= (async () => {
      const cur = await this.#cmd.exec(['sysctl', '-n', 'net.ipv4.ip_nonlocal_bind']);
      if (cur.stdout.trim() === '1') return;
      const r = await this.#cmd.exec(['sysctl', '-qw', 'net.ipv4.ip_nonlocal_bind=1']);
      if (r.code !== 0) throw new Error(`sysctl net.ipv4.ip_nonlocal_bind=1: ${r.stderr.trim()}`);
      this.#o.log.info('set net.ipv4.ip_nonlocal_bind=1 in the node\'s namespace (arping announces addresses the node does not hold)');
    })().catch((e: unknown) => {
      this.#nonlocalBind = undefined;
      throw e;
    });
    return this.#nonlocalBind;
  }

  async gratuitousARP(iface: string, address: string): Promise<void> {
    await this.#allowNonlocalBind();
    await this.#cmd.gratuitousARP(iface, address, this.#o.garpCount);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
    const child = this.#helper;
    this.#helper = undefined;
    if (!child) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.stdin.end();
      setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, 2000).unref();
    });
  }
}

/** The executor for unit tests: records what the real one would make so. */
export class FakeL2Executor implements L2Executor {
  /** Addresses answered per interface. */
  readonly answering = new Map<string, string[]>();
  readonly garps: { iface: string; address: string }[] = [];
  readonly interfaces = new Map<string, string>();
  /** Set to make the next setAddresses fail. */
  failNext: Error | undefined;
  closed = false;

  constructor(interfaces: Record<string, string> = {}) {
    for (const [ip, i] of Object.entries(interfaces)) this.interfaces.set(ip, i);
  }

  async interfaceOf(ip: string): Promise<string | undefined> {
    return this.interfaces.get(ip);
  }

  async setAddresses(iface: string, addresses: readonly string[]): Promise<void> {
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = undefined;
      throw e;
    }
    if (addresses.length) this.answering.set(iface, [...addresses]);
    else this.answering.delete(iface);
  }

  async gratuitousARP(iface: string, address: string): Promise<void> {
    this.garps.push({ iface, address });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.answering.clear();
  }
}
