/** The kubelet rounds memory.high down to whole pages. */
export const PAGE_SIZE = 4096;

/**
 * memory.high as the kubelet's MemoryQoS feature sets it for a container with a memory limit
 * (KEP-2570; pkg/kubelet/kuberuntime/kuberuntime_container_linux.go):
 *   floor(request + factor × (limit − request)), rounded down to the page size.
 * A container with request = limit (Guaranteed QoS) gets no memory.high at all.
 */
export function memoryQosHigh(request: number, limit: number, factor: number, pageSize = PAGE_SIZE): number {
  const high = Math.floor(request + factor * (limit - request));
  return Math.floor(high / pageSize) * pageSize;
}

export interface HighExplanation {
  /** memory.high that MemoryQoS would set for the known request and limit at the given factor */
  expected?: number;
  /** memory.high is what MemoryQoS sets at the given factor (within a page) */
  matches: boolean;
  /** the factor that gives this memory.high for the known request and limit */
  impliedFactor?: number;
  /** without a known request: the request that gives this memory.high at the given factor */
  impliedRequest?: number;
}

/** Which MemoryQoS setting explains a memory.high reading. */
export function explainMemoryHigh(
  high: number,
  limit: number,
  factor: number,
  request?: number,
): HighExplanation {
  if (!Number.isFinite(high) || !Number.isFinite(limit) || high >= limit) return { matches: false };
  if (request !== undefined && request < limit) {
    const expected = memoryQosHigh(request, limit, factor);
    return {
      expected,
      matches: Math.abs(expected - high) < PAGE_SIZE,
      impliedFactor: (high - request) / (limit - request),
    };
  }
  if (request !== undefined || factor >= 1) return { matches: false };
  const impliedRequest = (high - factor * limit) / (1 - factor);
  // rounding to pages moves the implied request by up to a page / (1 - factor): snap to whole MiB
  const snapped = Math.round(impliedRequest / 2 ** 20) * 2 ** 20;
  const request2 =
    Math.abs(memoryQosHigh(snapped, limit, factor) - high) < PAGE_SIZE ? snapped : impliedRequest;
  return {
    matches: request2 >= 0 && request2 < limit,
    ...(request2 >= 0 && request2 < limit ? { impliedRequest: request2 } : {}),
  };
}
