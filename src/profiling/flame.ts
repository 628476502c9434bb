// A flame graph as one self-contained SVG: no script, no external fonts or styles; hover text
// comes from each frame's <title>. The same input always renders to the same bytes.
import { diffProfiles } from "./diff.js";
import type { Profile } from "./model.js";
import { compareCodePoints, escapeXml } from "./strings.js";

export interface FlameNode {
  readonly name: string;
  /** The profile's value through this frame (after a diff: the current profile's). */
  value: number;
  /** Current minus baseline; equals value without a baseline. */
  delta: number;
  /** Sorted by name. */
  children: FlameNode[];
}

export interface FlameOptions {
  /** Index into profile.sampleTypes; default: the profile's default sample type. */
  sampleIndex?: number;
  /** Colour frames by growth since this baseline (a differential flame graph). */
  base?: Profile;
  /** Image width in pixels; default 1200. */
  width?: number;
  title?: string;
}

/** Every stack merged into one tree under a frame "root"; recursion stays as repeated frames. */
export function flameTree(
  profile: Profile,
  sampleIndex = profile.defaultSampleType,
  base?: Profile,
): FlameNode {
  const p = base ? diffProfiles(profile, base) : profile;
  interface Building {
    value: number;
    delta: number;
    kids: Map<number, Building>;
  }
  const make = (): Building => ({ value: 0, delta: 0, kids: new Map() });
  const root = make();
  const { count, stackStart, stacks, values, baseFrom } = p.samples;
  const types = p.sampleTypes.length;
  for (let s = 0; s < count; s++) {
    const w = values[s * types + sampleIndex] ?? 0;
    if (w === 0) continue;
    // Widths need non-negative values: a baseline only adds to delta.
    const v = s >= baseFrom ? 0 : Math.max(w, 0);
    let node = root;
    node.value += v;
    node.delta += w;
    const first = stackStart[s] ?? 0;
    for (let i = (stackStart[s + 1] ?? 0) - 1; i >= first; i--) {
      const frames = p.locations[stacks[i] ?? 0];
      if (!frames) continue;
      for (let j = frames.length - 1; j >= 0; j--) {
        const id = frames[j] ?? 0;
        let child = node.kids.get(id);
        if (!child) {
          child = make();
          node.kids.set(id, child);
        }
        child.value += v;
        child.delta += w;
        node = child;
      }
    }
  }
  const finish = (name: string, b: Building): FlameNode => ({
    name,
    value: b.value,
    delta: b.delta,
    children: [...b.kids]
      .map(([id, kid]) => finish(p.frameNames[id] ?? "", kid))
      .sort((x, y) => compareCodePoints(x.name, y.name)),
  });
  return finish("root", root);
}

const FRAME_HEIGHT = 17;
const FONT_SIZE = 12;
// Monospace glyphs are 0.6em wide, which is what lets labels be cut to fit without measuring text.
const CHAR_WIDTH = FONT_SIZE * 0.6;
const PAD = 10;
const TOP = 46;
const MIN_WIDTH = 0.1;

export function flameGraphSvg(profile: Profile, options: FlameOptions = {}): string {
  const sampleIndex = options.sampleIndex ?? profile.defaultSampleType;
  const sampleType = profile.sampleTypes[sampleIndex] ?? { type: "", unit: "" };
  const root = flameTree(profile, sampleIndex, options.base);
  const width = options.width ?? 1200;
  const diff = options.base !== undefined;
  const scale = root.value > 0 ? (width - 2 * PAD) / root.value : 0;
  const frameWidth = (n: FlameNode): number => (n === root ? width - 2 * PAD : n.value * scale);

  let depth = 0;
  let maxDelta = 0;
  const measure = (n: FlameNode, d: number): void => {
    depth = Math.max(depth, d);
    if (n !== root) maxDelta = Math.max(maxDelta, Math.abs(n.delta));
    for (const c of n.children) if (frameWidth(c) >= MIN_WIDTH) measure(c, d + 1);
  };
  measure(root, 0);

  const height = TOP + (depth + 1) * FRAME_HEIGHT + PAD;
  const amount = (v: number): string => formatAmount(v, sampleType.unit);
  const percent = (v: number): string => (root.value === 0 ? "0.00" : ((v / root.value) * 100).toFixed(2));
  const out: string[] = [];
  const draw = (n: FlameNode, d: number, x: number): void => {
    const w = frameWidth(n);
    const y = TOP + (depth - d) * FRAME_HEIGHT;
    let hover = `${n.name} (${amount(n.value)}, ${percent(n.value)}%`;
    if (diff) hover += `; ${n.delta > 0 ? "+" : ""}${amount(n.delta)} since base`;
    hover += ")";
    const fill = diff ? diffColour(n.delta, maxDelta) : warmColour(n.name);
    out.push(
      `<g><title>${escapeXml(hover)}</title>` +
        `<rect x="${fixed(x)}" y="${y}" width="${fixed(w)}" height="${FRAME_HEIGHT - 1}" rx="2" fill="${fill}"/>` +
        label(n.name, x, y, w) +
        `</g>`,
    );
    let cx = x;
    for (const c of n.children) {
      const cw = frameWidth(c);
      if (cw >= MIN_WIDTH) draw(c, d + 1, cx);
      cx += cw;
    }
  };
  draw(root, 0, PAD);

  const title =
    options.title ??
    `Flame graph: ${sampleType.type}${diff ? ", change since base" : ""} (total ${amount(root.value)})`;
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<style>g:hover rect{stroke:#000;stroke-width:0.5}</style>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-family="sans-serif" font-size="17">${escapeXml(title)}</text>`,
    `<g font-family="monospace" font-size="${FONT_SIZE}">`,
    ...out,
    `</g>`,
    `</svg>`,
    "",
  ].join("\n");
}

function label(name: string, x: number, y: number, w: number): string {
  const fits = Math.floor((w - 6) / CHAR_WIDTH);
  if (fits < 3) return "";
  const text = name.length <= fits ? name : `${name.slice(0, fits - 2)}..`;
  return `<text x="${fixed(x + 3)}" y="${y + FRAME_HEIGHT - 5}">${escapeXml(text)}</text>`;
}

function fixed(n: number): string {
  return n.toFixed(2);
}

/** A stable warm colour per function name (FNV-1a), so a function keeps its colour across renders. */
function warmColour(name: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `rgb(${205 + (h % 50)},${(h >>> 8) % 230},${(h >>> 16) % 55})`;
}

/** Red for growth, blue for shrinkage, stronger with the size of the change. */
function diffColour(delta: number, maxDelta: number): string {
  if (delta === 0 || maxDelta === 0) return "rgb(235,235,235)";
  const k = Math.round(40 + 175 * Math.min(1, Math.abs(delta) / maxDelta));
  return delta > 0 ? `rgb(255,${255 - k},${255 - k})` : `rgb(${255 - k},${255 - k},255)`;
}

function formatAmount(v: number, unit: string): string {
  if (unit !== "bytes") return unit === "count" || unit === "" ? `${v}` : `${v} ${unit}`;
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let scaled = Math.abs(v);
  let i = 0;
  while (scaled >= 1024 && i < units.length - 1) {
    scaled /= 1024;
    i++;
  }
  const sign = v < 0 ? "-" : "";
  return i === 0 ? `${v} B` : `${sign}${scaled.toFixed(2)} ${units[i] ?? "B"}`;
}
