import { createHash } from "node:crypto";
import { isIP } from "node:net";
import type { KubeClient } from "../kube/client.js";

/** What the apiserver says about a bearer token. */
export interface TokenReviewResult {
  authenticated: boolean;
  username?: string;
}
export type TokenReviewFn = (token: string) => Promise<TokenReviewResult>;

export interface AuthDecision {
  status: 200 | 401 | 403 | 503;
  /** for logs: why, without the token */
  reason: string;
  identity?: string;
}

export const DEFAULT_ALLOWED_IDENTITY = "system:serviceaccount:memlens-system:memlens-controller";

// A TokenReview per request would put the apiserver on the agent's hot path; a minute bounds how
// long a revoked token keeps working. Failed reviews are remembered more briefly.
const ALLOW_TTL_MS = 60_000;
const DENY_TTL_MS = 10_000;
const MAX_ENTRIES = 1000;

/**
 * Bearer-token authorization for the agent API: the token must be valid (TokenReview) and
 * belong to exactly one identity, the controller's ServiceAccount. Results are cached by the
 * SHA-256 of the token, so the token itself is never kept or logged.
 */
export class TokenAuthorizer {
  private readonly cache = new Map<string, { decision: AuthDecision; until: number }>();

  constructor(
    private readonly review: TokenReviewFn,
    private readonly allowedIdentity: string,
    private readonly now: () => number = Date.now,
  ) {}

  async check(authorization: string | undefined): Promise<AuthDecision> {
    const token = bearerToken(authorization);
    if (token === undefined) return { status: 401, reason: "no bearer token" };
    const key = createHash("sha256").update(token).digest("hex");
    const hit = this.cache.get(key);
    if (hit && hit.until > this.now()) return hit.decision;

    let result: TokenReviewResult;
    try {
      result = await this.review(token);
    } catch (err) {
      // not cached: the next request retries the apiserver
      return {
        status: 503,
        reason: `TokenReview failed: ${err instanceof Error ? err.message : String(err)}`,
      };
    }
    const decision = decide(result, this.allowedIdentity);
    if (this.cache.size >= MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value ?? "");
    this.cache.set(key, {
      decision,
      until: this.now() + (decision.status === 200 ? ALLOW_TTL_MS : DENY_TTL_MS),
    });
    return decision;
  }
}

export function decide(result: TokenReviewResult, allowedIdentity: string): AuthDecision {
  if (!result.authenticated) return { status: 401, reason: "token not authenticated" };
  if (result.username !== allowedIdentity) {
    return {
      status: 403,
      reason: `identity ${result.username ?? "(none)"} is not allowed`,
      identity: result.username,
    };
  }
  return { status: 200, reason: "allowed", identity: result.username };
}

export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  return match?.[1];
}

/**
 * The audience of the token the controller sends to agents (a projected ServiceAccount token,
 * config/controller/deployment.yaml). The apiserver refuses such a token, so one that leaks on
 * the way to an agent opens nothing but the agents' read-only API.
 */
export const AGENT_TOKEN_AUDIENCE = "memlens-agent";

/**
 * TokenReview through the apiserver (needs RBAC: create tokenreviews): first for the agent
 * audience (the controller's projected token), then for the apiserver's own (a token from
 * `kubectl create token`, or a controller run outside the cluster). A token issued for any other
 * audience (stolen from another service that accepts this ServiceAccount's tokens) fails both.
 */
export function kubeTokenReview(client: KubeClient): TokenReviewFn {
  const review = async (token: string, audiences?: string[]): Promise<TokenReviewResult> => {
    const r = await client.request<{
      status?: { authenticated?: boolean; user?: { username?: string } };
    }>("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        spec: { token, ...(audiences ? { audiences } : {}) },
      },
      timeoutMs: 10_000,
    });
    return { authenticated: r.status?.authenticated === true, username: r.status?.user?.username };
  };
  return async (token) => {
    const scoped = await review(token, [AGENT_TOKEN_AUDIENCE]);
    return scoped.authenticated ? scoped : review(token);
  };
}

/** `--auth none` is only safe where nothing but this host can connect. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "");
  if (h === "localhost") return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  return h === "::1" || h === "0:0:0:0:0:0:0:1";
}
