import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import type { HeapProfile } from "../../src/api/heapprofile.js";
import { decodeProfile } from "../../src/profiling/index.js";
import { heapSummary } from "../../src/profiling/summary.js";
import {
  deployMemlens,
  eventually,
  getJson,
  killLeader,
  kubectl,
  deploymentManifest,
  inspectionManifest,
  testNamespace,
  type MI,
} from "./kube.js";

const run = promisify(execFile);
const LEAKER = "main.(*MemoryLeaker).OnRequest";

/**
 * The catalog demo service, healthy for its first 40 s and leaking 12 KiB per request after
 * (~240 KiB/s: its 200 MiB limit is ~13 min away, far beyond this file), with its heap profile
 * endpoint breakable on demand (-heap-faults).
 */
function catalog(name: string, port: number) {
  const image = "localhost/memlens/catalog:dev";
  return deploymentManifest(name, [
    {
      name: "catalog",
      image,
      args: [
        "serve",
        "-host",
        "127.0.0.1",
        "-port",
        String(port),
        "-leak-kib",
        "12",
        "-leak-after",
        "40s",
        "-heap-faults",
      ],
      ports: [{ containerPort: port }],
      resources: { requests: { memory: "100Mi" }, limits: { memory: "200Mi" } },
    },
    {
      name: "load",
      image,
      args: ["load", "-url", `http://127.0.0.1:${port}/products`, "-rps", "20"],
      resources: { limits: { memory: "64Mi" } },
    },
  ]);
}

function inspection(name: string, port: number) {
  const mi = inspectionManifest(name, "1m");
  const profiling = { enabled: true, port, warmUp: "10s" };
  return { ...mi, spec: { ...mi.spec, containers: ["catalog"], interval: "10s", profiling } };
}

describe("heap-profile baselines kept in the cluster", function () {
  let ns: string;
  const ports: Record<string, number> = { "cat-a": 18101, "cat-b": 18102 };
  const names = Object.keys(ports);
  /** the baseline each inspection took, before anything leaked */
  const baselineAt: Record<string, string> = {};

  const heapProfiles = async () =>
    (await getJson<{ items: HeapProfile[] }>(["-n", ns, "get", "heapprofiles"])).items;
  const leak = async (name: string) =>
    (await getJson<MI>(["-n", ns, "get", "mi", name])).status?.findings?.find(
      (f) => f.rule === "MemoryLeak" && !f.resolved,
    );
  const memlens = (args: string[]) =>
    run("node", ["dist/src/cli/main.js", ...args, "-n", ns, "--kubeconfig", ".memlens/kubeconfig"], {
      maxBuffer: 64 << 20,
    });
  const breakHeap = (mode: string) => fetch(`http://127.0.0.1:${ports["cat-a"]}/debug/faults?heap=${mode}`);

  before(async function () {
    this.timeout(300_000);
    await deployMemlens();
    ns = await testNamespace("profiles");
    for (const name of names) {
      const port = ports[name] ?? 0;
      await kubectl(["-n", ns, "apply", "-f", "-"], JSON.stringify(catalog(name, port)));
      await kubectl(["-n", ns, "apply", "-f", "-"], JSON.stringify(inspection(name, port)));
    }
  });

  it("takes each pod's baseline after its warm-up, before anything is wrong: one HeapProfile per inspection and pod", async function () {
    this.timeout(180_000);
    const kept = await eventually("a HeapProfile of each inspection", 150_000, async () => {
      const items = await heapProfiles();
      return names.every((n) => items.some((i) => i.spec.inspection === n)) ? items : undefined;
    });
    for (const name of names) {
      const hp = kept.find((i) => i.spec.inspection === name)!;
      const mi = await getJson<{ metadata: { uid: string } }>(["-n", ns, "get", "mi", name]);
      expect(hp.metadata.ownerReferences?.[0]).to.include({
        kind: "MemoryInspection",
        name,
        uid: mi.metadata.uid,
      });
      expect(hp.spec.container).to.equal("catalog");
      const warmedUp = Date.parse(hp.spec.baseline.takenAt) - Date.parse(hp.spec.processStartedAt);
      expect(warmedUp, "taken after the 10 s warm-up").to.be.at.least(10_000);
      // healthy when taken: the leak starts at 40 s, and nothing of it is in the baseline
      expect(warmedUp).to.be.below(40_000);
      const base = heapSummary(decodeProfile(Buffer.from(hp.spec.baseline.profile, "base64")), undefined, {
        topN: 50,
      });
      expect(base.top.map((t) => t.function)).not.to.include(LEAKER);
      expect(await leak(name), "no finding yet").to.equal(undefined);
      baselineAt[name] = hp.spec.baseline.takenAt;
    }
  });

  it("keeps the baselines when the leader is killed: the new leader's findings say what grew since them", async function () {
    this.timeout(400_000);
    await killLeader();
    const tookOver = Date.now();
    for (const name of names) {
      const f = await eventually(`${name}: MemoryLeak compared with its baseline`, 360_000, async () => {
        const f = await leak(name);
        return f?.evidence.grownSinceBaseline ? f : undefined;
      });
      expect(f.evidence.baselineTakenAt, "the baseline taken before the failover").to.equal(baselineAt[name]);
      expect(Date.parse(f.firstSeen), "found by the new leader").to.be.above(tookOver - 1000);
      const clock = baselineAt[name]!.slice(11, 16);
      expect(f.message).to.match(
        new RegExp(
          `since the baseline at ${clock} UTC \\((\\d+ min|less than a minute) ago\\): \\+[\\d.]+ [KM]iB in \`main\\.\\(\\*MemoryLeaker\\)\\.OnRequest\` \\(\\d+% of growth\\)\\.`,
        ),
      );
      expect(String(f.evidence.grownSinceBaseline)).to.match(
        /^main\.\(\*MemoryLeaker\)\.OnRequest \+\d+ KiB/,
      );
    }
    const kept = await heapProfiles();
    for (const name of names)
      expect(kept.find((i) => i.spec.inspection === name)?.spec.baseline.takenAt, "frozen").to.equal(
        baselineAt[name],
      );
  });

  it("`memlens profile diff|flame mi/NAME` show the growth since the baseline, from the cluster alone", async function () {
    this.timeout(120_000);
    await eventually("the latest profile kept beside the baseline", 60_000, async () =>
      (await heapProfiles()).find((i) => i.spec.inspection === "cat-a")?.spec.latest ? true : undefined,
    );
    const diff = await memlens(["profile", "diff", "mi/cat-a"]);
    expect(diff.stderr).to.match(
      /^memlens: pod cat-a-\S+: the profile taken \S+ against the baseline taken /,
    );
    const firstRow = diff.stdout.split("\n").find((l) => /^\s*[\d.]+[kMG]?B/.test(l));
    expect(firstRow).to.contain(LEAKER);
    const dir = mkdtempSync(join(tmpdir(), "memlens-flame-"));
    try {
      await memlens(["profile", "flame", "mi/cat-a", "-o", join(dir, "growth.svg")]);
      const svg = readFileSync(join(dir, "growth.svg"), "utf8");
      // the leaking frame is drawn as growth: its hover text says how much it grew since the base
      expect(svg).to.match(
        /<title>main\.\(\*MemoryLeaker\)\.OnRequest \([^<]*; \+[\d.]+ [KM]iB since base\)<\/title>/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const missing = await memlens(["profile", "top", "mi/absent"]).catch(
      (err: { code: number; stderr: string }) => err,
    );
    expect(missing).to.include({ code: 1 });
    expect((missing as { stderr: string }).stderr).to.contain('memoryinspection "absent" not found');
  });

  for (const [mode, error] of [
    ["slow", /no complete response within 10000 ms/],
    ["huge", /larger than the limit of 67108864 bytes/],
    ["gone", /the server answered 404 Not Found/],
  ] as const) {
    it(`a ${mode} profile endpoint loses nothing: the finding says why, the baseline stays, the other inspection carries on`, async function () {
      this.timeout(120_000);
      await breakHeap(mode);
      const f = await eventually(`cat-a: the ${mode} endpoint's error`, 90_000, async () => {
        const f = await leak("cat-a");
        return error.test(String(f?.evidence.profileError)) ? f : undefined;
      });
      expect(f.evidence.baselineTakenAt).to.equal(baselineAt["cat-a"]);
      expect(f.message, "the rule's sentence stands without the profile's").to.match(/grows/);
      const kept = await heapProfiles();
      expect(kept.find((i) => i.spec.inspection === "cat-a")?.spec.baseline.takenAt).to.equal(
        baselineAt["cat-a"],
      );
      const other = await leak("cat-b");
      expect(other?.evidence.baselineTakenAt).to.equal(baselineAt["cat-b"]);
      expect(other?.evidence.profileError).to.equal(undefined);
    });
  }

  it("once the endpoint answers again, the comparison with the same baseline returns", async function () {
    this.timeout(90_000);
    await breakHeap("ok");
    const f = await eventually("cat-a compared again", 60_000, async () => {
      const f = await leak("cat-a");
      return f?.evidence.grownSinceBaseline && !f.evidence.profileError ? f : undefined;
    });
    expect(f.evidence.baselineTakenAt).to.equal(baselineAt["cat-a"]);
  });

  it("an inspection's profiles go with it (owner reference); the other's stay", async function () {
    this.timeout(90_000);
    await kubectl(["-n", ns, "delete", "mi", "cat-b"]);
    const left = await eventually("cat-b's HeapProfile garbage-collected", 60_000, async () => {
      const items = await heapProfiles();
      return items.some((i) => i.spec.inspection === "cat-b") ? undefined : items;
    });
    expect(left.map((i) => i.spec.inspection)).to.deep.equal(["cat-a"]);
  });

  after(async () => {
    if (ns) await kubectl(["delete", "namespace", ns, "--wait=false"]);
  });
});
