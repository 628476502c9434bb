import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import type { AddressInfo } from "node:net";
import type { Server } from "node:https";
import type { Logger } from "pino";
import type { KubeClient } from "../kube/client.js";
import { Informer } from "../kube/informer.js";
import { TokenAuthorizer, kubeTokenReview, type TokenReviewFn } from "./auth.js";
import { selfSignedCert } from "../pki/certificate.js";
import { ServingCertificate } from "./serving-certificate.js";
import { AgentMetrics, type Labels } from "./metrics.js";
import { agentPod, ownerOf, PodIndex, type AgentPod, type PodSource } from "./pods.js";
import { Sampler, SamplerLoop } from "./sampler.js";
import { createAgentServer, listen } from "./server.js";
import { HistoryStore, type TrackedCgroup } from "./store.js";
import { OomKillFeed } from "./oom-kills.js";
import { oomVictim } from "./oom-victim.js";

export interface AgentOptions {
  cgroupRoot: string;
  periodS: number;
  retentionS: number;
  goneRetentionS?: number;
  host: string;
  port: number;
  /** "none" only on loopback: the command refuses it elsewhere */
  auth: "tokenreview" | "none";
  allowedIdentity: string;
  nodeName: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /**
   * ask the memlens signer for the serving certificate (CertificateSigningRequest) for these
   * addresses; until it is signed, and without this, a self-signed one serves
   */
  servingCertificate?: { ips: string[]; lifetimeS: number };
}

export interface AgentDeps {
  log: Logger;
  /** the apiserver, for the pod watch and TokenReviews; absent only with --auth none */
  kube?: KubeClient;
  /** replaces the pod watch (tests) */
  pods?: PodSource;
  /** replaces TokenReview through `kube` (tests) */
  tokenReview?: TokenReviewFn;
}

export interface RunningAgent {
  address: AddressInfo;
  store: HistoryStore;
  sampler: Sampler;
  stop(): Promise<void>;
}

/** Wires the agent: pod watch, history store, sampler loop, metrics and the HTTPS API. */
export async function startAgent(opts: AgentOptions, deps: AgentDeps): Promise<RunningAgent> {
  const { log } = deps;
  const store = new HistoryStore({
    periodS: opts.periodS,
    retentionS: opts.retentionS,
    goneRetentionS: opts.goneRetentionS,
  });

  let pods: PodSource = deps.pods ?? new PodIndex();
  const known = new Set<string>();
  let onNewContainer = () => {};
  let informer: Informer<AgentPod> | undefined;
  if (!deps.pods && deps.kube) {
    const index = new PodIndex();
    informer = new Informer<AgentPod>(deps.kube, {
      path: "/api/v1/pods",
      fieldSelector: `spec.nodeName=${opts.nodeName}`,
      transform: agentPod,
      log,
    });
    informer.on((event, pod) => {
      if (event === "delete") {
        for (const id of Object.keys(pod.ids)) known.delete(id);
        return index.delete(pod);
      }
      const announced = Object.keys(pod.ids).some((id) => !known.has(id));
      for (const id of Object.keys(pod.ids)) known.add(id);
      index.set(pod);
      // a container the kubelet just started: find its cgroup now, not at the next scheduled scan,
      // so its growth is recorded from the start (and a fast OOM kill is not missed)
      if (announced) onNewContainer();
    });
    informer.start();
    pods = index;
  }

  const labels = (entry: TrackedCgroup): Labels => {
    const c = entry.cgroup;
    const owner = ownerOf(pods.byUID(c.podUID), c.kind, c.containerID);
    // a pod not (yet) known by name is still told apart by its UID
    return {
      namespace: owner.namespace,
      pod: owner.pod || c.podUID,
      container: owner.container,
      kind: owner.kind,
    };
  };
  const metrics = new AgentMetrics(store, labels);
  const oomKills = new OomKillFeed(oomVictim);
  const sampler = new Sampler({ cgroupRoot: opts.cgroupRoot, store, log, metrics, oomKills });
  const loop = new SamplerLoop(sampler, opts.periodS, log);
  onNewContainer = () => {
    sampler.requestScan();
    loop.soon();
  };

  let auth: TokenAuthorizer | undefined;
  if (opts.auth === "tokenreview") {
    const review = deps.tokenReview ?? (deps.kube ? kubeTokenReview(deps.kube) : undefined);
    if (!review)
      throw new Error("--auth tokenreview needs access to the API server (in-cluster config or KUBECONFIG)");
    auth = new TokenAuthorizer(review, opts.allowedIdentity);
  }

  const tls = await servingCert(opts);
  let certificate: ServingCertificate | undefined;
  if (opts.servingCertificate && !opts.tlsCertFile) {
    if (!deps.kube) throw new Error("asking for a serving certificate needs access to the API server");
    certificate = new ServingCertificate({
      ...opts.servingCertificate,
      kube: deps.kube,
      node: opts.nodeName,
      install: (pair, notAfter) => {
        server.setSecureContext({ cert: pair.certPem, key: pair.keyPem });
        metrics.certificateExpiry.set(notAfter.getTime() / 1000);
      },
      log,
    });
  }
  const server: Server = createAgentServer({
    tls,
    store,
    sampler,
    pods,
    node: opts.nodeName,
    periodS: opts.periodS,
    auth,
    metrics,
    oomKills,
    log,
    ...(certificate ? { certificate } : {}),
  });
  loop.start();
  let address: AddressInfo;
  try {
    address = await listen(server, opts.host, opts.port);
  } catch (err) {
    await loop.stop();
    await informer?.stop();
    throw err;
  }
  certificate?.start();
  log.info(
    {
      listen: `${address.address}:${address.port}`,
      auth: opts.auth,
      node: opts.nodeName,
      periodS: opts.periodS,
    },
    "agent serving",
  );

  return {
    address,
    store,
    sampler,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      certificate?.stop();
      await loop.stop();
      sampler.close();
      await informer?.stop();
    },
  };
}

async function servingCert(opts: AgentOptions): Promise<{ cert: string; key: string }> {
  if (opts.tlsCertFile && opts.tlsKeyFile) {
    return { cert: await readFile(opts.tlsCertFile, "utf8"), key: await readFile(opts.tlsKeyFile, "utf8") };
  }
  const names = [
    ...new Set([opts.nodeName, hostname(), "localhost"].filter((n) => /^[A-Za-z0-9.-]+$/.test(n))),
  ];
  const { certPem, keyPem } = selfSignedCert({
    commonName: "memlens-agent",
    dnsNames: names,
    ips: ["127.0.0.1", "::1"],
  });
  return { cert: certPem, key: keyPem };
}
