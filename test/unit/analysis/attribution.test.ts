import { expect } from "chai";
import {
  breakdown,
  describeGrowth,
  growthByKind,
  MEMORY_FIGURES,
  type MemoryBreakdown,
} from "../../../src/analysis/attribution.js";
import { traceToSamples } from "../../../src/cgroup/trace.js";
import { loadTrace, TRACE_FILES } from "../cgroup/fixtures.js";

const MI = 2 ** 20;

/** memory.stat as the kernel printed it, read here without the product's parsers. */
function rawStat(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const [k, v] = line.split(" ");
    if (k && v !== undefined) out[k] = Number(v);
  }
  return out;
}
const rawNumber = (text: string | undefined) => (text === undefined ? NaN : Number(text.trim()));

/** What the kernel documentation and cAdvisor say each figure is, from the raw files. */
function expected(version: string, files: Record<string, string>) {
  const st = rawStat(files["memory.stat"] ?? "");
  if (version === "v1") {
    const usage = rawNumber(files["memory.usage_in_bytes"]);
    const inactive = st.total_inactive_file as number;
    return {
      usage,
      anon: st.total_rss,
      activeFile: st.total_active_file,
      inactiveFile: inactive,
      pageCache: (st.total_active_file as number) + inactive,
      shmem: st.total_shmem,
      file: st.total_cache,
      swap: st.total_swap,
      // cAdvisor setMemoryStats: v1 total_inactive_file
      workingSet: inactive < usage ? usage - inactive : 0,
      rss: st.total_rss,
      other: usage - (st.total_rss as number) - (st.total_cache as number),
    };
  }
  const usage = rawNumber(files["memory.current"]);
  const inactive = st.inactive_file as number;
  const kernel = (st.kernel as number) + (st.sock as number);
  return {
    usage,
    anon: st.anon,
    activeFile: st.active_file,
    inactiveFile: inactive,
    pageCache: (st.active_file as number) + inactive,
    shmem: st.shmem,
    file: st.file,
    swap: rawNumber(files["memory.swap.current"]),
    workingSet: inactive < usage ? usage - inactive : 0,
    rss: st.anon,
    kernel,
    unreclaimable: (st.anon as number) + (st.shmem as number) + kernel - (st.slab_reclaimable as number),
    other: usage - (st.anon as number) - (st.file as number) - kernel,
  };
}

describe("memory attribution on the real kernel recordings", () => {
  for (const file of TRACE_FILES) {
    it(`${file}: every sample's breakdown equals the memory.stat arithmetic`, () => {
      const trace = loadTrace(file);
      const samples = traceToSamples(trace);
      expect(samples.length).to.equal(trace.samples.length);
      let checked = 0;
      trace.samples.forEach((raw, i) => {
        if (raw.files["memory.stat"] === undefined) return;
        const b = breakdown(samples[i]!);
        const want = expected(trace.meta.cgroup_version, raw.files);
        for (const [key, value] of Object.entries(want)) {
          expect(b[key as keyof MemoryBreakdown], `${file} t=${raw.t} ${key}`).to.deep.equal(value);
        }
        if (trace.meta.cgroup_version === "v1") {
          // v1's memory.stat has no kernel counters
          expect(Number.isNaN(b.kernel)).to.equal(true);
          expect(b.kernelParts).to.deep.equal({});
        } else {
          const st = rawStat(raw.files["memory.stat"] ?? "");
          expect(b.kernelParts.slab_unreclaimable).to.equal(st.slab_unreclaimable);
          expect(b.kernelParts.sock).to.equal(st.sock);
          expect(b.kernelParts.kernel_stack).to.equal(st.kernel_stack);
          expect(b.kernelParts.pagetables).to.equal(st.pagetables);
        }
        checked++;
      });
      expect(checked).to.be.above(10);
    });
  }

  it("shmem is inside file, not inside the file LRU lists: file ≈ pageCache + shmem", () => {
    for (const file of TRACE_FILES) {
      for (const s of traceToSamples(loadTrace(file))) {
        const b = breakdown(s);
        if (Number.isNaN(b.file)) continue;
        // pages in per-CPU LRU batches are counted in `file` before they reach a list
        expect(Math.abs(b.file - b.pageCache - b.shmem), file).to.be.at.most(4 * MI);
      }
    }
  });

  it("the leaks grow anonymous memory, and say so", () => {
    const slow = growthByKind(traceToSamples(loadTrace("v1-slow-leak.jsonl")));
    expect(slow.anon / 3600 / MI).to.be.within(3.8, 4.2);
    expect(Math.abs(slow.pageCache)).to.be.below(0.01 * slow.anon);
    expect(slow.shmem).to.equal(0);
    expect(describeGrowth(slow)).to.match(
      /^anonymous memory \+1\d GiB\/h; page cache flat; shmem \(files in memory\) flat; kernel memory flat$/,
    );
    const fast = growthByKind(traceToSamples(loadTrace("v2-oom-fast-leak.jsonl")));
    expect(describeGrowth(fast)).to.match(
      /^anonymous memory \+\d+ GiB\/h; page cache flat; shmem \(files in memory\) flat; kernel memory (flat|\+)/,
    );
  });

  it("describes growth per kind in words", () => {
    expect(describeGrowth({ anon: 38 * MI, pageCache: 0.2 * MI, shmem: NaN, kernel: -5 * MI })).to.equal(
      "anonymous memory +38 MiB/h; page cache flat; kernel memory -5 MiB/h",
    );
  });

  it("says which figure decides an OOM kill and which an eviction", () => {
    expect(MEMORY_FIGURES.oomKill).to.match(/anon \+ shmem \+ unreclaimable kernel/);
    expect(MEMORY_FIGURES.eviction).to.match(/working set/);
    expect(MEMORY_FIGURES.workingSet).to.match(/usage - inactive_file/);
  });
});
