import type { Logger } from "pino";
import { CONTROLLER_NAME } from "../api/group.js";
import { errMessage } from "./informer.js";
import { isNotFound, type KubeClient } from "./client.js";

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid: string;
}

export interface EventSpec {
  regarding: ObjectRef;
  related?: ObjectRef;
  type: "Normal" | "Warning";
  reason: string;
  action: string;
  note: string;
  /** tells apart Events of one reason that are not repeats of each other (e.g. two recommendations) */
  seriesKey?: string;
  /** occurrences this record stands for (two kills found in one pass are two); default 1 */
  occurrences?: number;
}

interface Series {
  name: string;
  count: number;
}

interface KubeEvent {
  metadata: { name: string };
  regarding?: { uid?: string };
  related?: { uid?: string };
  reason?: string;
  type?: string;
  reportingController?: string;
  note?: string;
  series?: { count: number };
  deprecatedCount?: number;
  eventTime?: string;
}

const NOTE_MAX = 1024; // events.k8s.io/v1 refuses longer notes

/** MicroTime as the apiserver wants it: RFC 3339 with exactly six fractional digits. */
export const microTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");

/**
 * events.k8s.io/v1 Events in the style of client-go's events broadcaster: the first occurrence
 * creates an Event, repeats of the same (regarding, related, reason) patch its series (count,
 * lastObservedTime) instead of creating new ones. After a restart the series is found again on
 * the server, so a new controller (or a new leader) continues it rather than starting a second:
 * the namespace's Events are listed once, at its first Event (a list per new series read every
 * Event of the namespace from etcd each time, since the apiserver keeps no watch cache of Events:
 * at 1000 inspections that was most of the apiserver's CPU in a first pass).
 */
export class EventRecorder {
  private readonly series = new Map<string, Series>();
  /** namespace -> this controller's Events found there at its first Event, by (regarding, related, type, reason) */
  private readonly found = new Map<string, Promise<Map<string, KubeEvent[]>>>();

  constructor(
    private readonly client: KubeClient,
    private readonly instance: string,
    private readonly log: Logger,
  ) {}

  private static key(e: EventSpec) {
    return `${e.regarding.uid}/${e.related?.uid ?? ""}/${e.type}/${e.reason}/${e.seriesKey ?? ""}`;
  }

  /** records an occurrence; never throws (an Event is a courtesy, not part of the result) */
  async record(e: EventSpec, now = new Date()): Promise<void> {
    const key = EventRecorder.key(e);
    const ns = e.regarding.namespace;
    const note = e.note.length > NOTE_MAX ? `${e.note.slice(0, NOTE_MAX - 1)}…` : e.note;
    try {
      const occurrences = Math.max(1, e.occurrences ?? 1);
      const known = this.series.get(key) ?? (await this.findExisting(e));
      if (known) {
        known.count += occurrences;
        try {
          await this.client.request("PATCH", `/apis/events.k8s.io/v1/namespaces/${ns}/events/${known.name}`, {
            contentType: "application/merge-patch+json",
            // only the series may change on an existing Event: its note stays the first one's
            body: { series: { count: known.count, lastObservedTime: microTime(now) } },
          });
          this.series.set(key, known);
          return;
        } catch (err) {
          if (!isNotFound(err)) throw err; // expired (events live ~1 h): start a new one
        }
      }
      const name = `${e.regarding.name}.${(BigInt(now.getTime()) * 1_000_000n).toString(16)}`;
      await this.client.request("POST", `/apis/events.k8s.io/v1/namespaces/${ns}/events`, {
        body: {
          apiVersion: "events.k8s.io/v1",
          kind: "Event",
          metadata: { name, namespace: ns },
          eventTime: microTime(now),
          reportingController: CONTROLLER_NAME,
          reportingInstance: this.instance,
          action: e.action,
          reason: e.reason,
          type: e.type,
          note,
          regarding: e.regarding,
          ...(e.related ? { related: e.related } : {}),
          // the API wants a series only for a repeat (count >= 2)
          ...(occurrences > 1 ? { series: { count: occurrences, lastObservedTime: microTime(now) } } : {}),
        },
      });
      this.series.set(key, { name, count: occurrences });
    } catch (err) {
      this.log.warn(
        { key: `${ns}/${e.regarding.name}`, reason: e.reason, err: errMessage(err) },
        "could not record Event",
      );
    }
  }

  private async findExisting(e: EventSpec): Promise<Series | undefined> {
    const ns = e.regarding.namespace;
    let found = this.found.get(ns);
    if (!found) {
      found = this.listOwn(ns);
      this.found.set(ns, found);
      void found.catch(() => this.found.delete(ns)); // asked again at the next Event
    }
    const key = `${e.regarding.uid}/${e.related?.uid ?? ""}/${e.type}/${e.reason}`;
    const mine = ((await found).get(key) ?? [])
      .filter((ev) => !e.seriesKey || (ev.note ?? "").startsWith(e.seriesKey))
      .sort((a, b) => (a.eventTime ?? "").localeCompare(b.eventTime ?? ""))
      .at(-1);
    return mine ? { name: mine.metadata.name, count: mine.series?.count ?? 1 } : undefined;
  }

  private async listOwn(namespace: string): Promise<Map<string, KubeEvent[]>> {
    const out = new Map<string, KubeEvent[]>();
    let cont: string | undefined;
    do {
      const page: { metadata: { continue?: string }; items: KubeEvent[] } = await this.client.get(
        `/apis/events.k8s.io/v1/namespaces/${namespace}/events`,
        { query: { limit: 500, continue: cont } },
      );
      for (const ev of page.items) {
        if (ev.reportingController !== CONTROLLER_NAME) continue;
        const key = `${ev.regarding?.uid ?? ""}/${ev.related?.uid ?? ""}/${ev.type ?? ""}/${ev.reason ?? ""}`;
        out.set(key, [...(out.get(key) ?? []), ev]);
      }
      cont = page.metadata.continue || undefined;
    } while (cont);
    return out;
  }

  /** forgets series of an object that is gone */
  forget(regardingUid: string): void {
    for (const k of this.series.keys()) if (k.startsWith(`${regardingUid}/`)) this.series.delete(k);
  }
}
