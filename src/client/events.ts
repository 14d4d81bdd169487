// Recording Events as client-go's EventRecorder does: core/v1 Events about an object, named
// "<object>.<hex nanoseconds>", with repeats of the same reason and message folded into one
// Event whose count and lastTimestamp grow (the EventCorrelator). Failures are logged, never thrown.
import type { Event, ObjectReference } from 'kubernetes-types/core/v1.js';
import { Events, type KubeObject } from '../api/index.ts';
import { logger } from '../util/index.ts';
import type { Client } from './types.ts';

export type EventType = 'Normal' | 'Warning';

interface Seen {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
  at: number;
}

const log = logger('events');
// client-go folds identical events seen within 10 minutes.
const foldWindowMs = 10 * 60 * 1000;
const maxRemembered = 4096;

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class EventRecorder {
  readonly #client: Client;
  readonly #component: string;
  readonly #host: string | undefined;
  readonly #seen = new Map<string, Seen>();

  constructor(client: Client, component: string, host?: string) {
    this.#client = client;
    this.#component = component;
    this.#host = host;
  }

  /** Records an Event about `obj` (a Service, Pod, Node...). Resolves when written (or given up). */
  async event(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const m = obj.metadata ?? {};
    const ref: ObjectReference = { kind: obj.kind, namespace: m.namespace, name: m.name, uid: m.uid, apiVersion: obj.apiVersion, resourceVersion: m.resourceVersion };
    const namespace = m.namespace || 'default';
    const key = [ref.kind, ref.namespace, ref.name, ref.uid, type, reason, message].join('\u0000');
    const t = now();
    const seen = this.#seen.get(key);
    try {
      if (seen && Date.now() - seen.at < foldWindowMs) {
        seen.count++;
        seen.at = Date.now();
        await this.#client.patch(Events, seen.namespace, seen.name, 'merge', { count: seen.count, lastTimestamp: t });
        return;
      }
      const name = `${m.name ?? 'unknown'}.${(BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1_000_000))).toString(16)}`;
      const ev: Event = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: ref,
        reason,
        message,
        type,
        source: this.#host ? { component: this.#component, host: this.#host } : { component: this.#component },
        firstTimestamp: t,
        lastTimestamp: t,
        count: 1,
        reportingComponent: this.#component,
        reportingInstance: this.#host ?? '',
      };
      await this.#client.create(Events, namespace, ev);
      if (this.#seen.size >= maxRemembered) this.#seen.delete(this.#seen.keys().next().value as string);
      this.#seen.set(key, { name, namespace, count: 1, firstTimestamp: t, at: Date.now() });
    } catch (err) {
      // A lost Event must never break the component that records it.
      if (seen) this.#seen.delete(key);
      log.warn({ err, reason, object: `${ref.kind ?? ''}/${ref.namespace ?? ''}/${ref.name ?? ''}` }, 'could not record an Event');
    }
  }
}
