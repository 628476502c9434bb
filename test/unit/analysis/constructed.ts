/**
 * CONSTRUCTED cgroup histories — not recordings. They stand in for the patterns the four real
 * recordings in test/fixtures/cgroup-traces do not cover (page cache, warm-up, sawtooth, child OOM
 * kills, memory.high stalls, restarts), built from the magnitudes real kernels print: page-
 * granular bytes, kernel memory that grows with the process, memory.stat keys as
 * sampleFromFiles produces them, PSI totals in seconds, counters that only go up. Real-kernel
 * recordings of the same patterns are to replace them; the rules must not depend on anything
 * these builders do that a kernel would not.
 */
import type { MemorySample } from "../../../src/cgroup/sample.js";

export const MI = 2 ** 20;
const PAGE = 4096;
const page = (bytes: number) => Math.max(0, Math.round(bytes / PAGE) * PAGE);

/** Deterministic noise (mulberry32), so a failing case fails the same way every run. */
export function noise(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

/** What the cgroup holds at one sample; counters are increments since the previous sample. */
export interface Step {
  anon: number;
  file?: number;
  shmem?: number;
  procs?: number;
  highEvents?: number;
  maxEvents?: number;
  oomKills?: number;
  failcnt?: number;
  /** PSI "some" / "full" stall time in this step, seconds */
  stall?: number;
  fullStall?: number;
}

export interface Shape {
  version: "v1" | "v2";
  /** seconds between samples */
  period: number;
  duration: number;
  limit: number | null;
  high?: number | null;
  step: (t: number, i: number) => Step;
}

export function construct(shape: Shape): MemorySample[] {
  const out: MemorySample[] = [];
  let peak = 0;
  let failcnt = 0;
  let oomKill = 0;
  let high = 0;
  let max = 0;
  let some = 0;
  let full = 0;
  let avg10 = 0;
  for (let i = 0, t = 0; t <= shape.duration; i++, t = i * shape.period) {
    const st = shape.step(t, i);
    const alive = st.procs !== 0;
    const anon = page(st.anon);
    const shmem = page(st.shmem ?? 0);
    const file = page((st.file ?? 0) + shmem);
    // page tables and stacks grow with the process; slab stays about the same
    const kernel = alive ? page(3 * MI + anon / 256) : page(8192);
    const usage = anon + file + (shape.version === "v2" ? kernel : 0);
    peak = Math.max(peak, usage);
    failcnt += st.failcnt ?? 0;
    oomKill += st.oomKills ?? 0;
    high += st.highEvents ?? 0;
    max += st.maxEvents ?? 0;
    some += st.stall ?? 0;
    full += st.fullStall ?? 0;
    // avg10 is an exponential average over 10 s
    const w = Math.exp(-shape.period / 10);
    avg10 = avg10 * w + (100 * (st.stall ?? 0) * (1 - w)) / shape.period;
    const stat: Record<string, number> = {
      anon,
      file,
      shmem,
      active_anon: page(anon * 0.1),
      inactive_anon: page(anon * 0.9) + shmem,
      active_file: page((file - shmem) * 0.3),
      inactive_file: page((file - shmem) * 0.7),
    };
    const sample: MemorySample = { t, version: shape.version, usage, peak, stat, procs: st.procs ?? 1 };
    if (shape.version === "v2") {
      Object.assign(stat, {
        kernel,
        kernel_stack: page(kernel * 0.1),
        pagetables: page(kernel * 0.3),
        slab_reclaimable: page(kernel * 0.2),
        slab_unreclaimable: page(kernel * 0.3),
      });
      sample.limit = shape.limit;
      sample.high = shape.high ?? null;
      sample.events = { low: 0, high, max, oom: oomKill, oom_kill: oomKill, oom_group_kill: 0 };
      sample.pressure = {
        some: { avg10: round2(avg10), avg60: 0, avg300: 0, total: some },
        full: { avg10: 0, avg60: 0, avg300: 0, total: full },
      };
    } else {
      sample.limit = shape.limit;
      sample.failcnt = failcnt;
      sample.oomKill = oomKill;
      sample.underOom = false;
    }
    out.push(sample);
  }
  return out;
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const H = 3600;

/** Page cache grows 200 MiB/h (a log writer) over a flat 80 MiB heap until v1 reclaims it at the 512 MiB limit. */
export function pageCacheGrowth(version: "v1" | "v2" = "v1"): MemorySample[] {
  const r = noise(1);
  const limit = 512 * MI;
  return construct({
    version,
    period: 10,
    duration: 3 * H,
    limit,
    step: (t) => {
      const anon = 80 * MI + r() * MI;
      const room = limit - anon - 6 * MI;
      const wanted = 2 * MI + (200 * MI * t) / H;
      const atLimit = wanted >= room;
      return { anon, file: Math.min(wanted, room), failcnt: atLimit ? 40 : 0, stall: atLimit ? 0.02 : 0 };
    },
  });
}

/** A JVM-like warm-up: 40 MiB growing to a 250 MiB plateau (time constant 15 min), then flat for hours. */
export function warmupPlateau(): MemorySample[] {
  const r = noise(2);
  return construct({
    version: "v2",
    period: 10,
    duration: 3 * H,
    limit: 1024 * MI,
    step: (t) => ({ anon: 40 * MI + 210 * MI * (1 - Math.exp(-t / 900)) + r() * 2 * MI, file: 12 * MI }),
  });
}

/** GC sawtooth: heap climbs 80 MiB over 150 s then a collection frees it; troughs drift `driftPerHour`. */
export function sawtooth(driftPerHour: number): MemorySample[] {
  const r = noise(3);
  return construct({
    version: "v2",
    period: 10,
    duration: 3 * H,
    limit: 1024 * MI,
    step: (t) => {
      const phase = (t % 150) / 150;
      return { anon: 120 * MI + (driftPerHour * t) / H + 80 * MI * phase + r() * 3 * MI, file: 20 * MI };
    },
  });
}

/** A steady service: 150 MiB ± 1 MiB, now and then a request burst of 30 MiB for one sample. */
export function steady(): MemorySample[] {
  const r = noise(4);
  return construct({
    version: "v2",
    period: 10,
    duration: 6 * H,
    limit: 512 * MI,
    step: (_t, i) => ({ anon: 150 * MI + r() * 2 * MI + (i % 97 === 0 ? 30 * MI : 0), file: 30 * MI }),
  });
}

/**
 * A shell (the main process, 100 MiB with its cache) runs `dd bs=24M` every 10 min under a
 * 128 MiB limit; the third dd does not fit and the kernel kills it, the shell goes on.
 */
export function childOomKill(version: "v1" | "v2"): MemorySample[] {
  const r = noise(5);
  return construct({
    version,
    period: 10,
    duration: 1 * H,
    limit: 128 * MI,
    step: (t) => {
      const phase = t % 600;
      const base = { anon: 96 * MI + r() * 0.5 * MI, file: 4 * MI, procs: 1 };
      if (t === 1800) return { ...base, maxEvents: 12, oomKills: 1, failcnt: 300 };
      if (phase === 10 || phase === 20) return { ...base, anon: base.anon + 24 * MI, procs: 2 };
      return base;
    },
  });
}

/** A leak of 6 MiB/h from 200 MiB, far below a 2 GiB limit, under a small GC sawtooth. */
export function slowLeakFarFromLimit(): MemorySample[] {
  const r = noise(6);
  return construct({
    version: "v2",
    period: 10,
    duration: 4 * H,
    limit: 2048 * MI,
    step: (t) => ({ anon: 200 * MI + (6 * MI * t) / H + 8 * MI * ((t % 60) / 60) + r() * MI, file: 40 * MI }),
  });
}

/**
 * A leak of 40 MiB/h from 100 MiB in a Burstable pod (request 100Mi, limit 200Mi, MemoryQoS
 * memory.high 190 MiB): from ~2h it is pinned at memory.high, throttled, 45 % of the time stalled.
 */
export function highStall(): MemorySample[] {
  const r = noise(7);
  const high = 199229440;
  return construct({
    version: "v2",
    period: 10,
    duration: 3.5 * H,
    limit: 200 * MI,
    high,
    step: (t) => {
      const wanted = 100 * MI + (40 * MI * t) / H;
      const kernelish = 3 * MI + wanted / 256;
      if (wanted + kernelish + 4 * MI < high) return { anon: wanted + r() * 0.5 * MI, file: 4 * MI };
      const anon = high - kernelish - 4 * MI + (0.5 + r()) * MI;
      return { anon, file: 4 * MI, highEvents: 40, stall: 4.5, fullStall: 3 };
    },
  });
}

/** A leak of 120 MiB/h in a pod with a 256 MiB limit (v2 pod cgroup): OOM-killed and restarted each time. */
export function leakWithRestarts(): MemorySample[] {
  const r = noise(8);
  let start = 0;
  return construct({
    version: "v2",
    period: 10,
    duration: 6 * H,
    limit: 256 * MI,
    step: (t) => {
      const anon = 60 * MI + (120 * MI * (t - start)) / H + r() * MI;
      if (anon + 3 * MI + anon / 256 + 8 * MI >= 256 * MI) {
        start = t + 10;
        return { anon: 0.3 * MI, file: 1 * MI, procs: 1, oomKills: 1, maxEvents: 30, stall: 0.5 };
      }
      return { anon, file: 8 * MI, procs: 2 };
    },
  });
}

/** No memory.high (Guaranteed pod), 470 MiB of heap and a file scan thrashing the cache at the 512 MiB limit. */
export function pressureNoHigh(): MemorySample[] {
  const r = noise(9);
  return construct({
    version: "v2",
    period: 10,
    duration: 1 * H,
    limit: 512 * MI,
    step: () => ({ anon: 470 * MI + r() * MI, file: 30 * MI, maxEvents: 200, stall: 2.2, fullStall: 1.1 }),
  });
}

/**
 * What `stress --rate 1 --max N` does: allocate 1 MiB/s up to N MiB, then hold (a cache filled
 * at start-up); 1 s samples for `duration` seconds, the hold taking `holdShare` of it.
 */
export function growThenHold(duration: number, holdShare: number): MemorySample[] {
  const r = noise(10);
  const growFor = duration * (1 - holdShare);
  return construct({
    version: "v1",
    period: 1,
    duration,
    limit: 512 * MI,
    step: (t) => ({ anon: 2 * MI + Math.min(t, growFor) * MI + r() * 64 * 1024, file: 128 * 1024 }),
  });
}

/** A slow GC sawtooth (period a third of the history) with no drift. */
export function slowSawtooth(): MemorySample[] {
  const r = noise(11);
  return construct({
    version: "v2",
    period: 10,
    duration: 3 * H,
    limit: 1024 * MI,
    step: (t) => ({ anon: 150 * MI + 120 * MI * ((t % H) / H) + r() * 2 * MI, file: 20 * MI }),
  });
}
