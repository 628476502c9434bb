import { isIP } from "node:net";
import { parseDuration } from "../../api/duration.js";
import { MAX_AGENT_CERT_S } from "../../pki/agent-certificate.js";
import { startAgent } from "../../agent/agent.js";
import { DEFAULT_ALLOWED_IDENTITY, isLoopbackHost } from "../../agent/auth.js";
import { recordCgroup } from "../../agent/record.js";
import { DEFAULT_PERIOD_S } from "../../agent/sampler.js";
import { parseListen } from "../../agent/server.js";
import { KubeClient, loadClusterAccess } from "../../kube/client.js";
import { createLogger } from "../../log.js";
import { UsageError, parseCommandArgs, type Command } from "../command.js";

const HELP = `usage: memlens agent [flags]

Runs the node agent (one per node, DaemonSet): samples the memory cgroups of every pod and
container on the node into a bounded history and serves it over HTTPS to the controller.

  --cgroup-root DIR        cgroup mount (default /sys/fs/cgroup)
  --period D               sampling period (default ${DEFAULT_PERIOD_S}s)
  --retention D            history kept per container (default 6h; older than 10m at 2m resolution)
  --listen ADDR:PORT       (default 0.0.0.0:9137)
  --auth tokenreview|none  tokenreview (default): bearer token checked with a TokenReview;
                           none: no authentication, refused unless --listen is a loopback address
  --allowed-identity ID    the only identity served (default ${DEFAULT_ALLOWED_IDENTITY})
  --node-name N            this node (default: $NODE_NAME, set from the downward API)
  --certificate signer|self-signed
                           signer (default with --auth tokenreview): ask the memlens signer for a
                           serving certificate (CertificateSigningRequest), the only kind the
                           controller trusts; self-signed (default with --auth none): made at start-up
  --certificate-lifetime D asked-for lifetime of the signed certificate (default 24h, at most 7d;
                           renewed at 70-90 % of it)
  --serving-ips IPS        the addresses the certificate names (default: $POD_IPS or $POD_IP, set
                           from the downward API)
  --tls-cert F --tls-key F a mounted serving certificate instead
`;

const RECORD_HELP = `usage: memlens agent record --cgroup DIR --out FILE [--period 1s] [--duration 5m]

Records one memory cgroup to a cgroup-trace/v1 file (JSON Lines, as in the fixtures): the raw
text of its interface files once per period, until --duration, SIGINT/SIGTERM, or the cgroup
directory disappears.
`;

function duration(flag: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0)
    throw new UsageError(`${flag} must be a duration such as 5s, 1m or 6h, not ${JSON.stringify(text)}`);
  return ms / 1000;
}

/** Resolves when the first SIGTERM/SIGINT arrives; a second one exits at once. */
function onShutdown(): { signal: AbortSignal; done: Promise<string> } {
  const ac = new AbortController();
  const done = new Promise<string>((resolve) => {
    const handler = (sig: NodeJS.Signals) => {
      if (ac.signal.aborted) process.exit(130);
      ac.abort();
      resolve(sig);
    };
    process.on("SIGTERM", handler);
    process.on("SIGINT", handler);
  });
  return { signal: ac.signal, done };
}

export const agentCommand: Command = async (argv) => {
  const parsed = parseCommandArgs(argv, {
    help: HELP,
    options: {
      "cgroup-root": { type: "string", default: "/sys/fs/cgroup" },
      period: { type: "string", default: `${DEFAULT_PERIOD_S}s` },
      retention: { type: "string", default: "6h" },
      listen: { type: "string", default: "0.0.0.0:9137" },
      auth: { type: "string", default: "tokenreview" },
      "allowed-identity": { type: "string", default: DEFAULT_ALLOWED_IDENTITY },
      "node-name": { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      certificate: { type: "string" },
      "certificate-lifetime": { type: "string", default: "24h" },
      "serving-ips": { type: "string", default: process.env.POD_IPS ?? process.env.POD_IP ?? "" },
    },
  });
  if (!parsed) return 0;
  const { values } = parsed;
  const periodS = duration("--period", values.period);
  const retentionS = duration("--retention", values.retention);
  if (retentionS < periodS) throw new UsageError("--retention must be at least one --period");
  const listen = parseListen(values.listen);
  if (!listen) throw new UsageError(`--listen must be ADDR:PORT, not ${JSON.stringify(values.listen)}`);
  const auth = values.auth;
  if (auth !== "tokenreview" && auth !== "none")
    throw new UsageError(`--auth must be tokenreview or none, not ${JSON.stringify(auth)}`);
  if (auth === "none" && !isLoopbackHost(listen.host)) {
    throw new UsageError(
      `--auth none is refused on ${listen.host}: without authentication the API may only listen on a loopback address (e.g. --listen 127.0.0.1:9137)`,
    );
  }
  if (Boolean(values["tls-cert"]) !== Boolean(values["tls-key"]))
    throw new UsageError("--tls-cert and --tls-key go together");
  const servingCertificate = values["tls-cert"] ? undefined : signedCertificateFlags(values, auth);

  const log = createLogger("agent");
  let kube: KubeClient | undefined;
  try {
    kube = new KubeClient(await loadClusterAccess());
  } catch (err) {
    if (auth === "tokenreview") {
      process.stderr.write(
        `memlens agent: no API server access (${err instanceof Error ? err.message : String(err)}); it is needed for --auth tokenreview and the pod watch\n`,
      );
      return 1;
    }
    log.warn("no API server access: serving cgroups without pod names");
  }
  const nodeName = values["node-name"] ?? process.env.NODE_NAME ?? "";
  if (kube && nodeName === "")
    throw new UsageError(
      "set NODE_NAME (downward API spec.nodeName) or --node-name: the pod watch is limited to this node",
    );

  const shutdown = onShutdown();
  const agent = await startAgent(
    {
      cgroupRoot: values["cgroup-root"],
      periodS,
      retentionS,
      host: listen.host,
      port: listen.port,
      auth,
      allowedIdentity: values["allowed-identity"],
      nodeName,
      tlsCertFile: values["tls-cert"],
      tlsKeyFile: values["tls-key"],
      ...(servingCertificate ? { servingCertificate } : {}),
    },
    { log, kube },
  );
  const sig = await shutdown.done;
  log.info({ signal: sig }, "shutting down");
  await agent.stop();
  log.info("stopped");
  return 0;
};

/** --certificate and its two companions: what to ask the memlens signer for, or nothing (self-signed). */
function signedCertificateFlags(
  values: { certificate?: string; "certificate-lifetime": string; "serving-ips": string },
  auth: string,
): { ips: string[]; lifetimeS: number } | undefined {
  const mode = values.certificate ?? (auth === "none" ? "self-signed" : "signer");
  if (mode === "self-signed") return undefined;
  if (mode !== "signer")
    throw new UsageError(`--certificate must be signer or self-signed, not ${JSON.stringify(mode)}`);
  const lifetimeS = duration("--certificate-lifetime", values["certificate-lifetime"]);
  if (lifetimeS < 600 || lifetimeS > MAX_AGENT_CERT_S)
    throw new UsageError("--certificate-lifetime must be from 10m (the API's minimum) to 7d");
  const ips = values["serving-ips"]
    .split(",")
    .map((ip) => ip.trim())
    .filter(Boolean);
  if (ips.length === 0 || ips.some((ip) => isIP(ip) === 0))
    throw new UsageError(
      `--serving-ips wants the agent pod's IP addresses, comma-separated (set POD_IP from the downward API status.podIP), not ${JSON.stringify(values["serving-ips"])}`,
    );
  return { ips, lifetimeS: Math.round(lifetimeS) };
}

export const agentRecordCommand: Command = async (argv) => {
  const parsed = parseCommandArgs(argv, {
    help: RECORD_HELP,
    options: {
      cgroup: { type: "string" },
      out: { type: "string" },
      period: { type: "string", default: "1s" },
      duration: { type: "string", default: "5m" },
    },
  });
  if (!parsed) return 0;
  const { values } = parsed;
  if (!values.cgroup) throw new UsageError("--cgroup DIR is required (a memory cgroup directory)");
  if (!values.out) throw new UsageError("--out FILE is required");
  const periodS = duration("--period", values.period);
  const durationS = duration("--duration", values.duration);
  const shutdown = onShutdown();
  try {
    const result = await recordCgroup({
      dir: values.cgroup,
      out: values.out,
      periodS,
      durationS,
      signal: shutdown.signal,
    });
    process.stderr.write(
      `memlens agent record: ${result.samples} samples (${result.version}) to ${values.out}; stopped by ${result.stoppedBy}\n`,
    );
    return 0;
  } catch (err) {
    process.stderr.write(`memlens agent record: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
};
