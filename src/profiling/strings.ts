/**
 * Orders strings by Unicode code point, which is the UTF-8 byte order Go's `<` on strings
 * uses; JavaScript's `<` compares UTF-16 units and differs for characters above U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Only surrogates (U+D800..U+DFFF) sort differently from their code points.
    if ((x & 0xf800) === 0xd800 || (y & 0xf800) === 0xd800) {
      return (a.codePointAt(i) ?? 0) - (b.codePointAt(i) ?? 0);
    }
    return x - y;
  }
  return a.length - b.length;
}

const XML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

// XML 1.0 forbids these control characters even when escaped.
// eslint-disable-next-line no-control-regex
const XML_SPECIAL = /[&<>"']|[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

/** Escapes text for XML content and attributes; characters XML forbids become U+FFFD. */
export function escapeXml(s: string): string {
  return s.replace(XML_SPECIAL, (c) => XML_ESCAPES[c] ?? "\ufffd");
}
