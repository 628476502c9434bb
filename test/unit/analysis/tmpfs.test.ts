/**
 * TmpfsGrowth, KernelMemoryGrowth and PageCacheOnly on CONSTRUCTED histories (built with
 * constructed.ts from the magnitudes real kernels print), not recordings: the four real
 * recordings hold no shmem, no kernel memory growth and no full page cache.
 */
import { expect } from "chai";
import { parse } from "yaml";
import { analyzeContainer } from "../../../src/analysis/analyze.js";
import { podVolumes } from "../../../src/analysis/tmpfs.js";
import type { MemorySample } from "../../../src/cgroup/sample.js";
import * as c from "./constructed.js";

const MI = c.MI;
const H = 3600;

/**
 * CONSTRUCTED pod-level cgroup (v2, 128 MiB limit): a service writes 20 MiB/h of files into a
 * memory-backed emptyDir `cache` while its heap saws between 30 and 60 MiB. Once the files
 * leave no room for the heap's peak the kernel OOM-kills it; the pause process stays, the files
 * stay charged to the pod, the restarted service dies again within minutes.
 */
function shmemAcrossRestarts(): MemorySample[] {
  const r = c.noise(11);
  let started = 0;
  return c.construct({
    version: "v2",
    period: 10,
    duration: 2 * H,
    limit: 128 * MI,
    step: (t) => {
      const shmem = 40 * MI + (20 * MI * t) / H;
      const anon = 30 * MI + (30 * MI * ((t - started) % 240)) / 240 + r() * MI;
      if (anon + shmem + 3.2 * MI >= 128 * MI) {
        started = t + 10;
        return { anon: 1 * MI, shmem, procs: 1, oomKills: 1, maxEvents: 20 };
      }
      return { anon, shmem, procs: 2 };
    },
  });
}

/** CONSTRUCTED: heap leaking 20 MiB/h from 100 MiB under a 1 GiB limit, 16 MiB of /dev/shm that never changes. */
function anonLeakFlatShmem(): MemorySample[] {
  const r = c.noise(12);
  return c.construct({
    version: "v2",
    period: 10,
    duration: 2 * H,
    limit: 1024 * MI,
    step: (t) => ({ anon: 100 * MI + (20 * MI * t) / H + r() * MI, shmem: 16 * MI, file: 30 * MI }),
  });
}

/**
 * CONSTRUCTED: a proxy with a flat 100 MiB heap whose socket buffers grow 6 MiB/h (connections
 * never drained) and unreclaimable slab 3 MiB/h (their kernel objects), 3 h under a 1 GiB limit.
 */
function kernelGrowth(): MemorySample[] {
  const r = c.noise(13);
  const samples = c.construct({
    version: "v2",
    period: 10,
    duration: 3 * H,
    limit: 1024 * MI,
    step: () => ({ anon: 100 * MI + r() * MI, file: 40 * MI }),
  });
  const page = (x: number) => Math.round(x / 4096) * 4096;
  for (const s of samples) {
    const sock = page(1 * MI + (6 * MI * s.t) / H);
    const slab = page((3 * MI * s.t) / H);
    const st = s.stat as Record<string, number>;
    st.sock = sock;
    st.slab_unreclaimable = (st.slab_unreclaimable as number) + slab;
    st.kernel = (st.kernel as number) + slab;
    s.usage = (s.usage as number) + sock + slab;
  }
  return samples;
}

const volumes = [{ name: "cache", medium: "Memory" }, { name: "scratch" }];

describe("what kind of memory: rules on constructed histories", () => {
  describe("TmpfsGrowth", () => {
    it("files in a memory-backed volume kept across repeated OOM kills: fires, names the volume, sizeLimit patch", () => {
      const a = analyzeContainer({
        samples: shmemAcrossRestarts(),
        volumes,
        scope: "pod",
        container: "app",
        workload: { kind: "Deployment", name: "web", namespace: "shop" },
      });
      const f = a.findings.find((x) => x.rule === "TmpfsGrowth");
      expect(f, JSON.stringify(a.findings.map((x) => x.rule))).to.not.equal(undefined);
      expect(f?.severity).to.equal("Critical");
      expect(f?.evidence.survivesRestarts).to.equal(true);
      expect(Number(f?.count)).to.be.at.least(2);
      expect(f?.message).to.match(/restarts cannot free it/);
      expect(f?.message).to.match(/cache \(emptyDir medium Memory, no sizeLimit\)/);
      expect(f?.message).to.not.match(/scratch/);
      expect(f?.message).to.match(/hold \d+ MiB \(\d+% of the 128 MiB limit\) and grow \+20 MiB\/h/);
      // the kills are the main process's although the files keep usage above half the limit
      expect(a.findings.find((x) => x.rule === "OOMKilled")?.count).to.equal(f?.count);

      const rec = a.recommendations.find((x) => x.type === "LimitMemoryVolume");
      expect(rec?.workload).to.equal("Deployment/web");
      const patch = parse(rec?.patch ?? "") as {
        spec: {
          template: {
            spec: { volumes: { name: string; emptyDir: { medium: string; sizeLimit: string } }[] };
          };
        };
      };
      const [vol] = patch.spec.template.spec.volumes;
      expect(vol?.name).to.equal("cache");
      expect(vol?.emptyDir.medium).to.equal("Memory");
      expect(vol?.emptyDir.sizeLimit).to.match(/^\d+Mi$/);
      const size = parseInt(vol?.emptyDir.sizeLimit ?? "", 10);
      expect(size).to.be.within(8, 64);
      expect(rec?.command).to.match(/^kubectl -n shop patch deployment web --type strategic --patch '/);
      expect(rec?.reason).to.match(/sizeLimit: \d+Mi on cache/);
    });

    it("the pod spec's volumes in the rule's shape", () => {
      expect(
        podVolumes([
          { name: "cache", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
          { name: "data", emptyDir: {} },
          { name: "config" },
        ]),
      ).to.deep.equal([{ name: "cache", medium: "Memory", sizeLimit: "64Mi" }, { name: "data" }]);
    });

    it("a heap leak with flat shmem: MemoryLeak of anonymous memory, no TmpfsGrowth", () => {
      const a = analyzeContainer({ samples: anonLeakFlatShmem(), volumes });
      expect(a.findings.map((f) => f.rule)).to.deep.equal(["MemoryLeak"]);
      const leak = a.findings[0];
      expect(Number(leak?.evidence.anonGrowthBytesPerHour) / MI).to.be.within(18, 22);
      expect(Math.abs(Number(leak?.evidence.shmemGrowthBytesPerHour))).to.be.below(0.5 * MI);
      expect(a.recommendations.map((r) => r.type)).to.not.include("LimitMemoryVolume");
    });

    it("a leak that is not only anonymous says which kind grows", () => {
      const a = analyzeContainer({ samples: kernelGrowth() });
      const leak = a.findings.find((f) => f.rule === "MemoryLeak");
      if (leak)
        expect(leak.message).to.match(/By kind: anonymous memory flat; .*kernel memory \+\d MiB\/h\.$/);
    });
  });

  describe("KernelMemoryGrowth", () => {
    it("socket buffers and slab grow with a flat heap: fires and names sock, then slab_unreclaimable", () => {
      const a = analyzeContainer({ samples: kernelGrowth() });
      const f = a.findings.find((x) => x.rule === "KernelMemoryGrowth");
      expect(f, JSON.stringify(a.findings.map((x) => x.rule))).to.not.equal(undefined);
      expect(f?.severity).to.equal("Warning");
      expect(Number(f?.evidence.kernelGrowthBytesPerHour) / MI).to.be.within(8, 10);
      expect(f?.evidence.growingCounters).to.equal("sock,slab_unreclaimable");
      expect(f?.message).to.match(
        /^Kernel memory grows \+9 MiB\/h \(sock \+6 MiB\/h, slab_unreclaimable \+3 MiB\/h\)/,
      );
      expect(f?.message).to.match(/while anonymous memory is flat/);
      expect(f?.message).to.match(/not in any heap profile/);
      expect(a.findings.map((x) => x.rule)).to.not.include("TmpfsGrowth");
    });

    it("does not fire where page cache grows with its kernel bookkeeping (v1: usage - rss - cache)", () => {
      // CONSTRUCTED from pageCacheGrowth: a real v1 recording of a file writer showed usage - rss -
      // cache (xarray nodes, inodes, dentries) growing by ~3 % of the file data
      const samples = c.pageCacheGrowth("v1").map((s) => ({
        ...s,
        usage: (s.usage as number) + Math.round((0.03 * (s.stat?.file ?? 0)) / 4096) * 4096,
      }));
      expect(analyzeContainer({ samples }).findings.map((f) => f.rule)).to.not.include("KernelMemoryGrowth");
    });

    it("does not fire on a heap leak (kernel memory grows only with the heap's page tables)", () => {
      expect(analyzeContainer({ samples: anonLeakFlatShmem() }).findings.map((f) => f.rule)).to.not.include(
        "KernelMemoryGrowth",
      );
      expect(analyzeContainer({ samples: c.steady() }).findings.map((f) => f.rule)).to.deep.equal([]);
    });
  });

  describe("PageCacheOnly", () => {
    for (const version of ["v1", "v2"] as const) {
      it(`a ${version} limit full of page cache, no stalls, no kills: Info, not a leak, not an OOM risk`, () => {
        const a = analyzeContainer({ samples: c.pageCacheGrowth(version) });
        expect(a.findings.map((f) => f.rule)).to.deep.equal(["PageCacheOnly"]);
        const [f] = a.findings;
        expect(f?.severity).to.equal("Info");
        expect(f?.message).to.match(/not a leak and not an OOM risk/);
        expect(Number(f?.evidence.pageCacheBytes) / MI).to.be.above(400);
        expect(Number(f?.evidence.unreclaimableBytes) / MI).to.be.below(100);
        if (version === "v1") expect(f?.message).to.match(/memory\.failcnt rose by \d+: .* not a failure/);
        expect(a.recommendations).to.deep.equal([]);
      });
    }

    it("stays silent below the limit and where memory is not page cache", () => {
      for (const samples of [c.steady(), c.warmupPlateau(), anonLeakFlatShmem()])
        expect(analyzeContainer({ samples }).findings.map((f) => f.rule)).to.not.include("PageCacheOnly");
    });
  });
});
