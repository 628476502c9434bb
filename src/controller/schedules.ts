import { schedule, validateDetailed, type ScheduledTask } from "node-cron";

/** Checks a cron expression and time zone; undefined when fine, else what is wrong, for a condition. */
export function scheduleProblem(expression: string, timeZone?: string): string | undefined {
  const v = validateDetailed(expression);
  if (!v.valid) {
    const why = v.errors.map((e) => `${e.field}${e.value ? ` '${e.value}'` : ""}: ${e.message}`).join("; ");
    return `spec.schedule '${expression}' is not a valid cron expression (${why || "unparseable"}); use node-cron syntax, e.g. '*/5 * * * *'`;
  }
  if (timeZone) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone });
    } catch {
      return `spec.timeZone '${timeZone}' is not an IANA time zone (e.g. Europe/Berlin, UTC)`;
    }
  }
  return undefined;
}

/** One node-cron task per scheduled MemoryInspection; each tick enqueues its key. */
export class Schedules {
  private readonly tasks = new Map<string, { spec: string; task: ScheduledTask }>();
  constructor(private readonly onTick: (key: string) => void) {}

  ensure(key: string, expression: string, timeZone = "UTC"): void {
    const spec = `${expression}|${timeZone}`;
    if (this.tasks.get(key)?.spec === spec) return;
    this.remove(key);
    const task = schedule(expression, () => this.onTick(key), {
      timezone: timeZone,
      name: key,
      noOverlap: true,
    });
    task.unref();
    this.tasks.set(key, { spec, task });
  }

  remove(key: string): void {
    const t = this.tasks.get(key);
    if (!t) return;
    void t.task.destroy();
    this.tasks.delete(key);
  }

  stopAll(): void {
    for (const key of [...this.tasks.keys()]) this.remove(key);
  }
}
