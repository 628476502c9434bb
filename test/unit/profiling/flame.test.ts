import { expect } from "chai";
import { decodeProfile } from "../../../src/profiling/decode.js";
import { flameGraphSvg, flameTree, type FlameNode } from "../../../src/profiling/flame.js";
import { loadFixture } from "./fixtures.js";
import { syntheticProfile } from "./synthetic.js";

/** Checks that every tag closes in order; returns the number of elements seen. */
function checkTagBalance(svg: string): number {
  const body = svg.replace(/^<\?xml[^>]*\?>/, "");
  const stack: string[] = [];
  let elements = 0;
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g)) {
    const [, closing, name = "", , selfClosing] = m;
    if (closing) {
      expect(stack.pop(), `closing </${name}>`).to.equal(name);
    } else {
      elements++;
      if (!selfClosing) stack.push(name);
    }
  }
  expect(stack).to.deep.equal([]);
  // Nothing that looks like markup may be left outside the matched tags.
  expect(body.replace(/<[^>]*>/g, "")).not.to.match(/[<>]/);
  return elements;
}

function walk(n: FlameNode, visit: (n: FlameNode) => void): void {
  visit(n);
  n.children.forEach((c) => walk(c, visit));
}

describe("profiling/flame", () => {
  const later = loadFixture("later.pb.gz");
  const base = loadFixture("base.pb.gz");

  it("is a well-formed SVG with a <title> on every frame", () => {
    const svg = flameGraphSvg(later);
    expect(
      svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"'),
    ).to.equal(true);
    checkTagBalance(svg);
    const frames = svg.match(/<g><title>/g)?.length ?? 0;
    expect(frames).to.be.greaterThan(5);
    expect(svg.match(/<rect /g)?.length).to.equal(frames + 1); // plus the background
    expect(svg).to.match(/<title>root \(\d+\.\d\d MiB, 100\.00%\)<\/title>/);
    expect(svg).to.match(/<title>main\.\(\*MemoryLeaker\)\.OnRequest \([^)]*, \d+\.\d\d%\)<\/title>/);
    expect(svg).not.to.match(/<script|href=|url\(/);
  });

  it("renders the same input to identical bytes", () => {
    expect(flameGraphSvg(decodeProfile(Buffer.from(syntheticOrFixture())))).to.equal(
      flameGraphSvg(decodeProfile(Buffer.from(syntheticOrFixture()))),
    );
    expect(flameGraphSvg(later, { base })).to.equal(flameGraphSvg(later, { base }));
  });

  it("draws widths proportional to value", () => {
    const svg = flameGraphSvg(later, { width: 1000 });
    const frames = [
      ...svg.matchAll(
        /<title>(.*?) \((\d+(?:\.\d+)?) (B|KiB|MiB), ([\d.]+)%\)<\/title><rect [^>]*width="([\d.]+)"/g,
      ),
    ];
    expect(frames.length).to.be.greaterThan(5);
    const rootWidth = Number(frames[0]?.[5]);
    expect(rootWidth).to.equal(980);
    for (const f of frames) {
      const percent = Number(f[4]);
      expect(Number(f[5]), f[1]).to.be.closeTo((rootWidth * percent) / 100, rootWidth * 0.00006 + 0.006);
    }
  });

  it("builds one tree under root with children sorted by name and recursion kept as frames", () => {
    const tree = flameTree(later, 1);
    expect(tree.name).to.equal("root");
    walk(tree, (n) => {
      const names = n.children.map((c) => c.name);
      expect(names).to.deep.equal([...names].sort());
      expect(n.children.reduce((s, c) => s + c.value, 0)).to.be.at.most(n.value);
    });
    let deepest = 0;
    const depth = (n: FlameNode, d: number): void => {
      if (n.name === "main.buildTree") deepest = Math.max(deepest, d);
      n.children.forEach((c) => depth(c, n.name === "main.buildTree" ? d + 1 : d));
    };
    depth(tree, 0);
    expect(deepest).to.be.greaterThan(3);
  });

  it("escapes names and truncates labels to fit their frame", () => {
    const long = `pkg.${"VeryLongFunctionName".repeat(20)}`;
    const data = syntheticProfile([
      { stack: ['a<b>&"c"\'', "main"], values: [100, 100] },
      { stack: [long, "main"], values: [60, 60] },
    ]);
    const svg = flameGraphSvg(decodeProfile(data), { sampleIndex: 0 });
    checkTagBalance(svg);
    expect(svg).to.contain("a&lt;b&gt;&amp;&quot;c&quot;&apos;");
    expect(svg).to.contain(`<title>${long} (`);
    expect(svg).not.to.contain(`>${long}</text>`);
    expect(svg).to.match(/>pkg\.VeryLongFunctionName\S*\.\.<\/text>/);
    for (const m of svg.matchAll(
      /<rect x="[\d.]+" y="\d+" width="([\d.]+)"[^>]*\/><text[^>]*>([^<]*)<\/text>/g,
    )) {
      expect(m[2]?.length ?? 0).to.be.at.most(Math.floor((Number(m[1]) - 6) / 7.2));
    }
  });

  it("colours a diff by growth and says how much each frame changed", () => {
    const svg = flameGraphSvg(later, { base });
    checkTagBalance(svg);
    expect(svg).to.contain("change since base");
    expect(svg).to.match(/<title>main\.makeBuf \([^)]*; \+\d+\.\d\d MiB since base\)<\/title>/);
    const tree = flameTree(later, 3, base);
    expect(tree.value).to.be.greaterThan(tree.delta);
    expect(tree.delta).to.be.greaterThan(0);
  });
});

function syntheticOrFixture(): Uint8Array {
  return syntheticProfile([
    { stack: ["leaf", "mid", "main"], values: [3, 3] },
    { stack: ["other", "mid", "main"], values: [2, 2] },
    { stack: ["main"], values: [1, 1] },
  ]);
}
