import { timingSafeEqual } from "node:crypto";
import { type Body, type MessageStats, topics, validateMessage } from "@consort/protocol";
import { makeMessage } from "@consort/protocol/mqtt";
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import type { Logger } from "pino";
import type { Coordinator } from "../coordinator.js";
import type { CscCoordinator } from "../csc/csc-coordinator.js";
import {
  type CoordinatorMetrics,
  coordinatorMetrics,
  cscCoordinatorMetrics,
} from "../metrics/metrics.js";
import { renderHtmlReport } from "../report/html.js";
import type { FleetReport } from "../report/types.js";
import { CscDashboardReadModel } from "./csc-read-model.js";
import { DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS } from "./page.js";
import { DashboardReadModel } from "./read-model.js";

export interface DashboardOptions {
  /** Where to listen: a loopback or LAN address, and a port (0: any free one). */
  readonly host: string;
  readonly port: number;
  readonly site: string;
  /**
   * The operator's bearer token: with it a request may submit an order or mark a resource down.
   * Without a token configured, the dashboard is read-only for everyone.
   */
  readonly operatorToken?: string;
  /** The coordinator transport's counts (drops by reason for `/metrics`). */
  readonly stats?: MessageStats;
  readonly logger?: Logger;
  /** How often the page gets a fresh snapshot even when nothing changed (the now line moves). */
  readonly tickMs?: number;
}

export interface Dashboard<R = DashboardReadModel> {
  /** e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly readModel: R;
  readonly metrics: CoordinatorMetrics;
  close(): Promise<void>;
}

/** What the server needs of a read model, whichever family's coordinator feeds it. */
interface ReadModelSource {
  snapshot(): unknown;
  onChange(listener: () => void): () => void;
  report(fromTicks: number, untilTicks: number): FleetReport;
  close(): void;
}

/** An operator's actions on a job-shop coordinator (a C-TAEMS run has none). */
interface OperatorActions {
  submitOrder(body: Body<"order">): Promise<{ accepted: boolean; reason?: string }>;
  /** An error line (status 400 or 404) or the interval marked down. */
  markDown(
    id: string,
    body: { fromTicks?: number; untilTicks?: number; durationTicks?: number; reason?: string },
  ):
    | { error: string; status: number }
    | { resourceId: string; fromTicks: number; untilTicks: number };
}

/**
 * Serves the operator's dashboard for a running coordinator: the page and its assets (from this
 * package, no network beyond the coordinator), live snapshots of the read model over
 * Server-Sent Events, `/metrics` for Prometheus, a report for a period, and for an authenticated
 * operator, orders and resource downtime. Call before the coordinator plans, so that the read
 * model sees the first schedule and agents come online.
 */
export async function startDashboard(
  coordinator: Coordinator,
  options: DashboardOptions,
): Promise<Dashboard> {
  const readModel = new DashboardReadModel(coordinator, options.site);
  const metrics = coordinatorMetrics(coordinator, options.stats);
  const actions: OperatorActions = {
    submitOrder(body) {
      const answer = new Promise<{ accepted: boolean; reason?: string }>((resolve) => {
        const stop = coordinator.onEvent((e) => {
          if (e.kind === "order" && e.orderId === body.orderId) {
            stop();
            resolve({ accepted: e.accepted, ...(e.reason ? { reason: e.reason } : {}) });
          }
        });
        setTimeout(() => {
          stop();
          resolve({ accepted: false, reason: "no answer from the manager within 10 s" });
        }, 10_000).unref();
      });
      coordinator.submitOrder(body, "dashboard");
      return answer;
    },
    markDown(id, b) {
      const from = b.fromTicks ?? coordinator.nowTicks;
      const until = b.untilTicks ?? from + (b.durationTicks ?? 10);
      if (!Number.isInteger(from) || !Number.isInteger(until) || until <= from)
        return { status: 400, error: "fromTicks < untilTicks, both whole ticks" };
      if (!coordinator.currentModel.resources.some((r) => r.id === id))
        return { status: 404, error: `${id} is not a resource of this site` };
      coordinator.markDown(id, from, until, b.reason ?? "marked down by the operator");
      return { resourceId: id, fromTicks: from, untilTicks: until };
    },
  };
  return serve(readModel, metrics, options, actions);
}

/**
 * The dashboard of a C-TAEMS run's coordinator: the same page, Gantt of each agent's methods,
 * and the root quality so far with each node's probability and criticality on the task tree; a
 * timeline of the nodes whose probability fell and what the deliberative scheduler installed
 * where; `/metrics` and a report for a period. Read-only: a C-TAEMS run takes no orders.
 */
export async function startCscDashboard(
  coordinator: CscCoordinator,
  options: DashboardOptions,
): Promise<Dashboard<CscDashboardReadModel>> {
  const readModel = new CscDashboardReadModel(coordinator, options.site);
  const metrics = cscCoordinatorMetrics(coordinator, () => readModel.tree.rootQuality);
  return serve(readModel, metrics, options);
}

async function serve<R extends ReadModelSource>(
  readModel: R,
  metrics: CoordinatorMetrics,
  options: DashboardOptions,
  actions?: OperatorActions,
): Promise<Dashboard<R>> {
  const app: FastifyInstance = Fastify({ logger: false });
  const tickMs = options.tickMs ?? 1000;
  const operator = (req: FastifyRequest): boolean => {
    const token = actions ? options.operatorToken : undefined;
    if (!token) return false;
    const header = req.headers.authorization ?? "";
    const given = Buffer.from(header.startsWith("Bearer ") ? header.slice(7) : "");
    const want = Buffer.from(token);
    return given.length === want.length && timingSafeEqual(given, want);
  };
  const security = {
    "content-security-policy":
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:",
    "x-content-type-options": "nosniff",
  };

  app.get("/", async (_req, reply) =>
    reply.headers(security).type("text/html; charset=utf-8").send(DASHBOARD_HTML),
  );
  app.get("/assets/dashboard.js", async (_req, reply) =>
    reply.headers(security).type("text/javascript; charset=utf-8").send(DASHBOARD_JS),
  );
  app.get("/assets/dashboard.css", async (_req, reply) =>
    reply.headers(security).type("text/css; charset=utf-8").send(DASHBOARD_CSS),
  );
  app.get("/api/snapshot", async () => readModel.snapshot());
  app.get("/api/whoami", async (req) => ({
    operator: operator(req),
    canOperate: actions !== undefined && options.operatorToken !== undefined,
  }));
  app.get("/metrics", async (_req, reply) =>
    reply.type(metrics.contentType).send(await metrics.text()),
  );
  app.get("/report", async (req, reply) => {
    // `to` is taken for `until` too (the word a reader of a period may try first).
    const q = req.query as { from?: string; until?: string; to?: string };
    const end = q.until ?? q.to;
    const from = q.from !== undefined && q.from !== "" ? Number(q.from) : 0;
    const until = end !== undefined && end !== "" ? Number(end) : Number.POSITIVE_INFINITY;
    if (!Number.isFinite(from) || Number.isNaN(until))
      return reply.code(400).send({ error: "from and until are tick counts" });
    return reply
      .type("text/html; charset=utf-8")
      .header(
        "content-disposition",
        `attachment; filename="consort-report-${from}-${Number.isFinite(until) ? until : "now"}.html"`,
      )
      .send(renderHtmlReport(readModel.report(from, until)));
  });

  // Live updates: a snapshot on connect, after each change (at most every 200 ms) and every tick.
  const clients = new Map<(data: string) => void, () => void>();
  let pending: NodeJS.Timeout | undefined;
  const broadcast = () => {
    pending = undefined;
    if (clients.size === 0) return;
    const data = JSON.stringify(readModel.snapshot());
    for (const send of clients.keys()) send(data);
  };
  const soon = () => {
    pending ??= setTimeout(broadcast, 200);
  };
  const stopChange = readModel.onChange(soon);
  const ticker = setInterval(broadcast, tickMs);
  app.get("/api/events", (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    const send = (data: string) => res.write(`event: snapshot\ndata: ${data}\n\n`);
    send(JSON.stringify(readModel.snapshot()));
    clients.set(send, () => res.end());
    req.raw.on("close", () => clients.delete(send));
  });

  app.post("/api/orders", async (req, reply) => {
    if (!operator(req)) return reply.code(401).send({ error: "operator token required" });
    const body = req.body as Body<"order">;
    try {
      // The same checks as an order on the orders topic, with the same one-line answer.
      const probe = makeMessage("order", "operator", body, { seq: 0, epoch: 1, at: Date.now() });
      validateMessage(probe, topics.orders(options.site));
    } catch (error) {
      return reply.code(400).send({ error: (error as Error).message });
    }
    const answer = await actions!.submitOrder(body);
    options.logger?.info({ order: body.orderId, ...answer }, "order from the dashboard");
    return reply.code(answer.accepted ? 200 : 422).send(answer);
  });
  app.post("/api/resources/:id/down", async (req, reply) => {
    if (!operator(req)) return reply.code(401).send({ error: "operator token required" });
    const { id } = req.params as { id: string };
    const b = (req.body ?? {}) as {
      fromTicks?: number;
      untilTicks?: number;
      durationTicks?: number;
      reason?: string;
    };
    const done = actions!.markDown(id, b);
    if ("error" in done) return reply.code(done.status).send({ error: done.error });
    options.logger?.warn(
      { resource: id, from: done.fromTicks, until: done.untilTicks },
      "resource marked down from the dashboard",
    );
    return done;
  });

  const address = await app.listen({ host: options.host, port: options.port });
  return {
    url: address,
    readModel,
    metrics,
    async close() {
      clearInterval(ticker);
      if (pending) clearTimeout(pending);
      stopChange();
      // Open streams would hold the server open: end them (the page reconnects if it lives on).
      for (const end of clients.values()) end();
      clients.clear();
      await app.close();
      readModel.close();
      metrics.close();
    },
  };
}

/** Parses HOST:PORT (IPv6 in brackets); one readable line when it is not one. */
export function parseHostPort(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535)
    throw new Error(`--http ${text}: expected HOST:PORT, e.g. 127.0.0.1:8080`);
  return { host: (m[1] ?? m[2])!, port };
}
