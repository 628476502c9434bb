import { expect } from "chai";
import { KeyedBytes, plainDigits } from "../../../src/agent/bytes.js";
import { limitIn, parseLimit, parseValue, valueIn } from "../../../src/agent/fast-read.js";
import { forAll, mutateText, type Rng } from "../prop.js";
import { TRACE_FILES, loadTrace } from "../cgroup/fixtures.js";

const bytes = (text: string) => Buffer.from(text, "latin1");
const same = (a: number, b: number) => (Number.isNaN(a) ? Number.isNaN(b) : a === b);

/**
 * The text lookup KeyedBytes replaced (fast-read.ts before it read bytes): the value text of
 * the first line that starts with `key `, up to its newline.
 */
function valueTextOf(text: string, key: string): string | undefined {
  let at: number;
  if (text.startsWith(`${key} `)) at = key.length + 1;
  else {
    const i = text.indexOf(`\n${key} `);
    if (i < 0) return undefined;
    at = i + key.length + 2;
  }
  const end = text.indexOf("\n", at);
  return text.slice(at, end < 0 ? text.length : end);
}

/** Real interface files of every recording, by name: what the properties mutate. */
const realFiles: Record<string, string[]> = {};
for (const file of TRACE_FILES) {
  for (const sample of loadTrace(file).samples.slice(0, 20)) {
    for (const [name, text] of Object.entries(sample.files)) (realFiles[name] ??= []).push(text);
  }
}
const realOf = (name: string) => realFiles[name] ?? [];

describe("plainDigits", () => {
  const rows: [string, number][] = [
    ["0\n", 0],
    ["123\n", 123],
    ["123", 123],
    ["000042\n", 42],
    ["999999999999999\n", 999999999999999],
    ["1000000000000000\n", NaN], // 16 digits: left to the string parse
    ["", NaN],
    ["\n", NaN],
    ["12\n\n", NaN],
    [" 12\n", NaN],
    ["12 \n", NaN],
    ["-1\n", NaN],
    ["1e3\n", NaN],
    ["max\n", NaN],
  ];
  for (const [text, want] of rows) {
    it(`${JSON.stringify(text)} -> ${want}`, () => {
      expect(same(plainDigits(bytes(text), 0, text.length), want)).to.equal(true);
    });
  }

  it("reads a range inside a larger buffer", () => {
    const b = bytes("xx 4096\nyy");
    expect(plainDigits(b, 3, 7)).to.equal(4096);
    expect(plainDigits(b, 3, 8)).to.equal(4096);
  });

  it("whenever it reads a value, the string parse reads the same", () => {
    forAll(2000, (rng) => {
      const text = randomValueText(rng);
      const v = plainDigits(bytes(text), 0, text.length);
      if (!Number.isNaN(v)) expect(v, JSON.stringify(text)).to.equal(parseValue(text));
    });
  });
});

describe("valueIn and limitIn (fast-read's byte parse) = parseValue and parseLimit", () => {
  const rows = [
    "4096\n",
    "9223372036854771712\n",
    "9223372036854775807\n",
    "18446744073709551615\n",
    "4611686018427387904\n",
    "4611686018427387903\n",
    "max\n",
    "max",
    " max\n",
    "maxi\n",
    "0x10\n",
    "1e3\n",
    "",
    "12abc\n",
  ];
  for (const text of rows) {
    it(JSON.stringify(text), () => {
      const b = bytes(text);
      expect(same(valueIn(b, 0, b.length), parseValue(text))).to.equal(true);
      expect(same(limitIn(b, 0, b.length), parseLimit(text))).to.equal(true);
    });
  }

  it("on mutated real single-value files", () => {
    const files = [
      "memory.usage_in_bytes",
      "memory.limit_in_bytes",
      "memory.current",
      "memory.max",
      "memory.high",
    ]
      .flatMap(realOf)
      .concat(["max\n", "9223372036854771712\n"]);
    forAll(3000, (rng) => {
      const text = rng.bool(0.2) ? rng.pick(files) : mutateText(rng, rng.pick(files));
      const b = bytes(text);
      expect(same(valueIn(b, 0, b.length), parseValue(text)), JSON.stringify(text)).to.equal(true);
      expect(same(limitIn(b, 0, b.length), parseLimit(text)), JSON.stringify(text)).to.equal(true);
    });
  });
});

describe("KeyedBytes", () => {
  const parse = (b: Uint8Array, from: number, to: number) =>
    parseValue(Buffer.from(b).toString("latin1", from, to));

  const rows: [string, Record<string, number>][] = [
    ["anon 1\nfile 2\n", { anon: 1, file: 2, shmem: NaN }],
    ["anon 1\nanon 2\n", { anon: 1 }], // the first line with the key counts
    ["anon x\nanon 2\n", { anon: NaN }], // even when its value is malformed
    ["total_anon 5\nanon 1\n", { anon: 1, total_anon: 5 }],
    ["anon_thp 7\nanon 1", { anon: 1 }], // a longer key is another key; no newline at the end
    ["anon  1\n", { anon: NaN }], // the value starts right after the first space
    ["anon\n1\n", { anon: NaN }],
    ["anon", { anon: NaN }],
    ["", { anon: NaN }],
    ["\n\nfile 3\n\n", { file: 3 }],
    ["oom_kill_disable 0\nunder_oom 0\noom_kill 4\n", { oom_kill: 4 }],
  ];
  for (const [text, want] of rows) {
    const wanted = Object.entries(want).map(([k, v]) => `${k}=${v}`);
    it(`${JSON.stringify(text)} -> ${wanted.join(" ")}`, () => {
      const keys = Object.keys(want);
      const table = new KeyedBytes(keys, parse);
      table.scan(bytes(text), text.length);
      keys.forEach((k, i) => expect(same(table.values[i] as number, want[k] as number), k).to.equal(true));
    });
  }

  it("forgets the previous scan's values", () => {
    const table = new KeyedBytes(["anon", "file"], parse);
    table.scan(bytes("anon 1\nfile 2\n"), 14);
    table.scan(bytes("anon 3\n"), 7);
    expect([...table.values]).to.deep.equal([3, NaN]);
  });

  it("reads only the first n bytes of the buffer", () => {
    const table = new KeyedBytes(["anon", "file"], parse);
    table.scan(bytes("anon 1\nfile 2\n"), 8);
    expect([...table.values]).to.deep.equal([1, NaN]);
  });

  it("finds every key the text lookup finds, on mutated real memory.stat, memory.events and memory.oom_control", () => {
    const files = ["memory.stat", "memory.events", "memory.oom_control"].flatMap(realOf);
    forAll(1500, (rng) => {
      const text = rng.bool(0.2) ? rng.pick(files) : mutateText(rng, rng.pick(files));
      const keys = keysOf(rng, text);
      const table = new KeyedBytes(keys, parse);
      table.scan(bytes(text), text.length);
      keys.forEach((key, i) => {
        const valueText = valueTextOf(text, key);
        const want = valueText === undefined ? NaN : parseValue(valueText);
        expect(same(table.values[i] as number, want), `${key} in ${JSON.stringify(text)}`).to.equal(true);
      });
    });
  });
});

function randomValueText(rng: Rng): string {
  const digits = rng.string("0123456789", rng.int(0, 20));
  return rng.pick([
    digits,
    `${digits}\n`,
    `${digits}\n\n`,
    ` ${digits}`,
    `${digits}x`,
    `-${digits}`,
    `${digits}.5`,
  ]);
}

/** Keys to look for: some from the text's own lines, some near misses, some absent. */
function keysOf(rng: Rng, text: string): string[] {
  const own = text
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((k) => k !== "");
  const keys = new Set<string>();
  for (let i = 0; i < rng.int(1, 12); i++) {
    const k =
      own.length > 0 && rng.bool(0.8) ? rng.pick(own) : rng.string("abcdefiklmnorst_", rng.int(1, 12));
    keys.add(rng.bool(0.1) ? k.slice(0, -1) || k : k);
  }
  return [...keys];
}
