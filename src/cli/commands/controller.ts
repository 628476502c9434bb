import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { Manager } from "../../controller/manager.js";
import { KubeClient, loadClusterAccess } from "../../kube/client.js";
import { boundAddress, parseListen, startHealthServer } from "../../kube/health.js";
import { LEADER_DEFAULTS, LeaderElector } from "../../kube/leader.js";
import { createLogger } from "../../log.js";
import { parseDuration } from "../../api/duration.js";
import { parseCommandArgs, UsageError, type Command } from "../command.js";

const AGENT_TOKEN_FILE = "/var/run/secrets/memlens/agent/token";
const POD_TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token";

export const controllerCommand: Command = async (argv) => {
  const { values } = parseCommandArgs(argv, {
    options: {
      "health-addr": { type: "string", default: "0.0.0.0:8080" },
      "leader-elect": { type: "boolean", default: true },
      "no-leader-elect": { type: "boolean", default: false },
      "lease-namespace": { type: "string", default: process.env.POD_NAMESPACE ?? "memlens-system" },
      "lease-name": { type: "string", default: "memlens-controller" },
      workers: { type: "string", default: "4" },
      "agent-namespace": { type: "string", default: process.env.POD_NAMESPACE ?? "memlens-system" },
      "agent-port": { type: "string", default: "9137" },
      "agent-timeout": { type: "string", default: "5s" },
      // a token for the agents' audience only (projected volume); without it, the pod's own token
      "agent-token-file": { type: "string", default: AGENT_TOKEN_FILE },
      "no-agents": { type: "boolean", default: false },
    },
  });
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64)
    throw new UsageError("--workers wants a whole number from 1 to 64");
  let listen;
  try {
    listen = parseListen(values["health-addr"]);
  } catch (err) {
    throw new UsageError(`--health-addr: ${(err as Error).message}`);
  }
  const log = createLogger("controller");
  const identity = process.env.POD_NAME ?? `${hostname()}_${process.pid}`;
  const client = new KubeClient(await loadClusterAccess());
  const agentTimeoutMs = parseDuration(values["agent-timeout"]);
  const agentPort = Number(values["agent-port"]);
  if (agentTimeoutMs === undefined) throw new UsageError("--agent-timeout wants a duration such as 5s");
  if (!Number.isInteger(agentPort) || agentPort < 1 || agentPort > 65535)
    throw new UsageError("--agent-port wants a port number");
  const agents = values["no-agents"]
    ? undefined
    : {
        tokenFile:
          values["agent-token-file"] === AGENT_TOKEN_FILE && !existsSync(AGENT_TOKEN_FILE)
            ? POD_TOKEN_FILE
            : values["agent-token-file"],
        namespace: values["agent-namespace"],
        port: agentPort,
        timeoutMs: agentTimeoutMs,
      };
  const manager = new Manager({ client, log, instance: identity, workers, ...(agents ? { agents } : {}) });
  const health = await startHealthServer({
    ...listen,
    ready: () => manager.synced,
    registry: manager.metrics.registry,
  });
  log.info(
    // the bound address: with port 0 (two replicas on one host network) the kernel chose it
    { server: client.server.origin, identity, health: boundAddress(health) },
    "memlens controller starting",
  );

  const stop = new AbortController();
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, "shutting down");
    stop.abort();
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));

  manager.startInformers();
  const leaderElect = values["leader-elect"] && !values["no-leader-elect"];
  let elector: LeaderElector | undefined;
  if (leaderElect) {
    elector = new LeaderElector(
      client,
      { namespace: values["lease-namespace"], name: values["lease-name"], identity, ...LEADER_DEFAULTS },
      log,
    );
    await elector.run(stop.signal, () => {
      manager.metrics.leader.set(1);
      void manager.startWorkers();
    });
    manager.metrics.leader.set(0);
  } else {
    await manager.startWorkers();
    await new Promise<void>((resolve) =>
      stop.signal.addEventListener("abort", () => resolve(), { once: true }),
    );
  }
  // here either a signal came or leadership was lost: stop work, give the lease back
  await manager.stop();
  await elector?.release();
  await new Promise((resolve) => health.close(resolve));
  log.info("stopped");
  return stop.signal.aborted ? 0 : 1;
};
