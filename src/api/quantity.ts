/** Kubernetes resource quantities for memory (k8s.io/apimachinery/pkg/api/resource). */
export const QUANTITY_PATTERN = "^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?$";
const FACTOR: Record<string, number> = {
  "": 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** Bytes, or undefined when the text is not a quantity this parser knows. */
export function parseQuantity(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^([0-9]+(?:\.[0-9]+)?)(?:e([0-9]+))?([A-Za-z]*)$/.exec(text.trim());
  if (!m) return undefined;
  const factor = FACTOR[m[3] ?? ""];
  if (factor === undefined) return undefined;
  return Math.ceil(Number(m[1]) * 10 ** Number(m[2] ?? 0) * factor);
}

/** Bytes as a quantity a person writes in a manifest, rounded up to whole Mi. */
export function formatMi(bytes: number): string {
  return `${Math.ceil(bytes / 2 ** 20)}Mi`;
}

/** Bytes for messages: "190 MiB", "1.5 GiB", "512 KiB". */
export function formatBytes(bytes: number): string {
  const abs = Math.abs(bytes);
  if (abs >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(abs >= 10 * 2 ** 30 ? 0 : 1)} GiB`;
  if (abs >= 2 ** 20) return `${Math.round(bytes / 2 ** 20)} MiB`;
  if (abs >= 2 ** 10) return `${Math.round(bytes / 2 ** 10)} KiB`;
  return `${bytes} B`;
}
