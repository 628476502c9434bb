// pprof's number formatting (internal/measurement), so that text output matches it digit for digit.

interface Unit {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly factor: number;
}

interface UnitType {
  readonly units: readonly Unit[];
  readonly defaultUnit: Unit;
}

const BYTE: Unit = { name: "B", aliases: ["b", "byte"], factor: 1 };
const SECOND: Unit = { name: "s", aliases: [], factor: 1e9 };
const GCU: Unit = { name: "GCU", aliases: [], factor: 1 };

const UNIT_TYPES: readonly UnitType[] = [
  {
    units: [
      BYTE,
      { name: "kB", aliases: ["kb", "kbyte", "kilobyte"], factor: 2 ** 10 },
      { name: "MB", aliases: ["mb", "mbyte", "megabyte"], factor: 2 ** 20 },
      { name: "GB", aliases: ["gb", "gbyte", "gigabyte"], factor: 2 ** 30 },
      { name: "TB", aliases: ["tb", "tbyte", "terabyte"], factor: 2 ** 40 },
      { name: "PB", aliases: ["pb", "pbyte", "petabyte"], factor: 2 ** 50 },
    ],
    defaultUnit: BYTE,
  },
  {
    units: [
      { name: "ns", aliases: ["ns", "nanosecond"], factor: 1 },
      { name: "us", aliases: ["μs", "us", "microsecond"], factor: 1e3 },
      { name: "ms", aliases: ["ms", "millisecond"], factor: 1e6 },
      { name: "s", aliases: ["s", "sec", "second"], factor: 1e9 },
      { name: "hrs", aliases: ["hour", "hr"], factor: 3600e9 },
    ],
    defaultUnit: SECOND,
  },
  {
    units: [
      { name: "n*GCU", aliases: ["nanogcu"], factor: 1e-9 },
      { name: "u*GCU", aliases: ["microgcu"], factor: 1e-6 },
      { name: "m*GCU", aliases: ["milligcu"], factor: 1e-3 },
      { name: "GCU", aliases: ["gcu"], factor: 1 },
      { name: "k*GCU", aliases: ["kilogcu"], factor: 1e3 },
      { name: "M*GCU", aliases: ["megagcu"], factor: 1e6 },
      { name: "G*GCU", aliases: ["gigagcu"], factor: 1e9 },
      { name: "T*GCU", aliases: ["teragcu"], factor: 1e12 },
      { name: "P*GCU", aliases: ["petagcu"], factor: 1e15 },
    ],
    defaultUnit: GCU,
  },
];

function sniffUnit(type: UnitType, unit: string): Unit | undefined {
  let u = unit.toLowerCase();
  if (u.length > 2 && u.endsWith("s")) u = u.slice(0, -1);
  return type.units.find((x) => x.aliases.includes(u));
}

/**
 * measurement.Scale for a fixed output unit (pprof -unit=B and friends; not "auto"), as what it
 * multiplies and divides by and the unit it names: the same for every value of a table.
 */
function conversion(fromUnit: string, toUnit: string): { times: number; per: number; unit: string } {
  for (const type of UNIT_TYPES) {
    const from = sniffUnit(type, fromUnit);
    if (!from) continue;
    const to = sniffUnit(type, toUnit) ?? type.defaultUnit;
    return { times: from.factor, per: to.factor, unit: to.name };
  }
  const unit = ["count", "sample", "unit", "minimum", "auto"].includes(toUnit) ? "" : toUnit;
  return { times: 1, per: 1, unit };
}

/**
 * scaledLabel for every value of one unit: the units are looked up once, not for each of the
 * thousands of values a large table prints.
 */
export function scaledLabeler(fromUnit: string, toUnit = "B"): (value: number) => string {
  const { times, per, unit } = conversion(fromUnit, toUnit);
  return (value) => {
    // Scale's sign handling: the magnitude is scaled, the sign put back.
    const v = value < 0 ? -((-value * times) / per) : (value * times) / per;
    const s = v.toFixed(2).replace(/\.00$/, "");
    return s === "0" || s === "-0" ? "0" : s + unit;
  };
}

/** measurement.ScaledLabel: "%.2f" without a ".00" tail, plus the unit; zero is a bare "0". */
export function scaledLabel(value: number, fromUnit: string, toUnit = "B"): string {
  return scaledLabeler(fromUnit, toUnit)(value);
}

/** measurement.Percentage: the magnitude of value/total, two decimals from 1 % up, two significant digits below. */
export function percentage(value: number, total: number): string {
  const ratio = total === 0 ? 0 : Math.abs(value / total) * 100;
  if (ratio >= 99.95 && ratio <= 100.05) return "  100%";
  if (ratio >= 1) return `${ratio.toFixed(2).padStart(5)}%`;
  return `${formatG2(ratio).padStart(5)}%`;
}

/** Go's %.2g: two significant digits, trailing zeros dropped, exponent form below 1e-4. */
function formatG2(x: number): string {
  if (x === 0) return "0";
  const [mantissa = "0", exp = "0"] = x.toExponential(1).split("e");
  const e = Number(exp);
  if (e < -4 || e >= 2) {
    const m = mantissa.replace(/\.?0+$/, "");
    return `${m}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  return x
    .toFixed(Math.max(0, 1 - e))
    .replace(/(\.\d*?)0+$/, "$1")
    .replace(/\.$/, "");
}
