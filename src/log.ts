import { pino, type Logger } from "pino";

/** One JSON event per line on stdout; callers add `key` (namespace/name) to every object-related line. */
export function createLogger(component: string): Logger {
  return pino({
    base: { component },
    level: process.env.MEMLENS_LOG_LEVEL ?? "info",
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ["token", "*.token", "authorization", "*.authorization"], censor: "[redacted]" },
  });
}

export type { Logger };
