import { writeFile } from "node:fs/promises";
import {
  type CommsPolicy,
  type CtaemsScenario,
  createRng,
  DEFAULT_POLICY,
  DELIBERATIVE_ADDRESS,
  generateBackupProblem,
  generateJobShopScenario,
  indexModel,
  type ModelChange,
  type PeerMessage,
  runStrategy,
  trialKey,
  trialSeeds,
} from "@consort/core";
import { encodeMessage, topics } from "@consort/protocol";
import { machineLine, writeSection } from "../bench-report.js";
import { CliError, EXIT } from "../errors.js";
import { meanCi } from "./bench-ctaems.js";

export interface BenchCommsFlags {
  readonly trials: number;
  readonly seed: number;
  /** Windows of the backup problem. */
  readonly windows: number;
  /** Machines of the job shop. */
  readonly machines: number;
  readonly out?: string;
  /** Where the SVG chart goes (default: next to --out, `comms.svg`). */
  readonly svg?: string;
  readonly json: boolean;
}

/** The policies compared: the always-broadcast baseline, a threshold sweep, silence, cells. */
export function commsPolicies(): CommsPolicy[] {
  const selective = (threshold: number): CommsPolicy => ({
    name: `selective ε=${threshold}`,
    broadcast: "selective",
    threshold,
    silence: false,
  });
  return [
    { name: "always", broadcast: "always", threshold: 0, silence: false },
    selective(0.02),
    selective(0.05),
    selective(0.1),
    selective(0.2),
    { ...DEFAULT_POLICY, name: "selective ε=0.05 + silence" },
    { ...DEFAULT_POLICY, name: "selective ε=0.1 + silence", threshold: 0.1 },
    { ...DEFAULT_POLICY, name: "cells of 5 + silence", cellSize: 5 },
    { ...DEFAULT_POLICY, name: "cells of 10 + silence", cellSize: 10 },
  ];
}

export interface PolicyRow {
  readonly benchmark: string;
  readonly name: string;
  /** Coordination messages per trial (agents and coordinator, both ways). */
  readonly messages: number;
  /** Their encoded payload bytes per trial (MessagePack envelopes, as the transport sends them). */
  readonly bytes: number;
  /** Mean root quality. */
  readonly quality: number;
  readonly qualityCi: number;
  /** Messages the coordinator received per trial. */
  readonly coordinatorInbound: number;
  /** Messages per trial by body type. */
  readonly byType: Record<string, number>;
  /** Always-broadcast's messages over this policy's. */
  readonly fewerThanAlways: number;
  /** Quality lost against always-broadcast, as a fraction of it (negative: better). */
  readonly qualityLoss: number;
}

/** The encoded size of a coordination message as the agents publish it (envelope included). */
export function encodedSize(m: PeerMessage): number {
  const from = m.from === DELIBERATIVE_ADDRESS ? "coordinator" : m.from;
  return encodeMessage({
    v: 1,
    id: `${from}:${m.seq}`,
    type: "csc-peer",
    from,
    seq: m.seq,
    at: 0,
    body: { trial: 0, tick: 0, seq: m.seq, body: m.body as never },
  }).byteLength;
}

/** The topic a coordination message travels on, for its length on the wire. */
const topicLength = (m: PeerMessage): number =>
  topics.peer(
    "site",
    m.from === DELIBERATIVE_ADDRESS ? "coordinator" : m.from,
    m.to === DELIBERATIVE_ADDRESS ? "coordinator" : m.to,
  ).length;

function runBenchmark(
  name: string,
  scenario: CtaemsScenario,
  changes: readonly ModelChange[],
  flags: BenchCommsFlags,
  err: NodeJS.WriteStream,
): PolicyRow[] {
  const indexed = indexModel(scenario.model);
  if (!indexed.ok)
    throw new CliError(`${scenario.name}: ${indexed.error[0]?.message}`, EXIT.software);
  const index = indexed.value;
  const keys = trialSeeds(flags.seed, flags.trials).map((s) => trialKey(createRng(s)));
  const raw = commsPolicies().map((policy) => {
    const started = performance.now();
    const qualities: number[] = [];
    let messages = 0;
    let bytes = 0;
    let inbound = 0;
    const byType: Record<string, number> = {};
    for (const key of keys) {
      const r = runStrategy(index, scenario.initial, "consort", key, {
        policy,
        changes,
        measure: (m) => encodedSize(m) + topicLength(m),
      });
      qualities.push(r.rootQuality);
      messages += r.traffic.messages;
      bytes += r.traffic.bytes;
      inbound += r.traffic.byRecipient.get(DELIBERATIVE_ADDRESS) ?? 0;
      for (const [t, n] of r.traffic.byType) byType[t] = (byType[t] ?? 0) + n;
    }
    const q = meanCi(qualities);
    err.write(
      `${name} / ${policy.name}: quality ${q.mean.toFixed(2)}, ${(messages / keys.length).toFixed(0)} messages, ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
    );
    return {
      name: policy.name,
      messages: messages / keys.length,
      bytes: bytes / keys.length,
      quality: q.mean,
      qualityCi: q.ci,
      coordinatorInbound: inbound / keys.length,
      byType: Object.fromEntries(
        Object.entries(byType)
          .sort()
          .map(([t, n]) => [t, n / keys.length]),
      ),
    };
  });
  const base = raw[0]!;
  return raw.map((r) => ({
    benchmark: name,
    ...r,
    fewerThanAlways: base.messages / Math.max(1, r.messages),
    qualityLoss: base.quality > 0 ? (base.quality - r.quality) / base.quality : 0,
  }));
}

/** An SVG chart per benchmark: quality against messages per trial (log scale). */
export function commsChart(rows: readonly PolicyRow[]): string {
  const benchmarks = [...new Set(rows.map((r) => r.benchmark))];
  const W = 520;
  const H = 340;
  const pad = { l: 64, r: 16, t: 36, b: 48 };
  const panels = benchmarks.map((b, i) => {
    const rs = rows.filter((r) => r.benchmark === b);
    const xs = rs.map((r) => Math.log10(Math.max(1, r.messages)));
    const x0 = Math.floor(Math.min(...xs));
    const x1 = Math.ceil(Math.max(...xs));
    const qs = rs.map((r) => r.quality);
    const qMax = Math.max(...qs);
    const y0 = Math.min(...qs) - 0.05 * qMax;
    const y1 = qMax * 1.03 + 1e-9;
    const px = (m: number) =>
      pad.l + ((Math.log10(Math.max(1, m)) - x0) / Math.max(1e-9, x1 - x0)) * (W - pad.l - pad.r);
    const py = (q: number) =>
      H - pad.b - ((q - y0) / Math.max(1e-9, y1 - y0)) * (H - pad.t - pad.b);
    const ticks = Array.from({ length: x1 - x0 + 1 }, (_, k) => x0 + k);
    const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
    return `<g transform="translate(${i * W},0)">
  <text x="${W / 2}" y="20" text-anchor="middle" font-weight="bold">${esc(b)}</text>
  <line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="#333"/>
  <line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${H - pad.b}" stroke="#333"/>
${ticks.map((k) => `  <text x="${px(10 ** k)}" y="${H - pad.b + 16}" text-anchor="middle" font-size="11">10^${k}</text>`).join("\n")}
  <text x="${W / 2}" y="${H - 8}" text-anchor="middle" font-size="12">messages per trial (log)</text>
  <text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" text-anchor="middle" font-size="12">mean root quality</text>
  <text x="${pad.l - 6}" y="${py(y0) + 4}" text-anchor="end" font-size="11">${y0.toFixed(1)}</text>
  <text x="${pad.l - 6}" y="${py(qMax) + 4}" text-anchor="end" font-size="11">${qMax.toFixed(1)}</text>
${rs
  .map(
    (r, k) =>
      `  <circle cx="${px(r.messages).toFixed(1)}" cy="${py(r.quality).toFixed(1)}" r="4" fill="${r.name === "always" ? "#c0392b" : r.name.startsWith("cells") ? "#27ae60" : r.name.includes("silence") ? "#2980b9" : "#7f8c8d"}"><title>${esc(r.name)}: ${r.messages.toFixed(0)} messages, quality ${r.quality.toFixed(2)}</title></circle>
  <text x="${(px(r.messages) + 6).toFixed(1)}" y="${(py(r.quality) - 6 - (k % 3) * 10).toFixed(1)}" font-size="10">${esc(r.name)}</text>`,
  )
  .join("\n")}
</g>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W * benchmarks.length}" height="${H}" font-family="sans-serif" role="img">
<title>Quality against messages per trial, by communication policy</title>
<rect width="100%" height="100%" fill="white"/>
${panels.join("\n")}
</svg>
`;
}

/** `consort bench comms`: quality against messages for each communication policy. */
export async function benchCommsCommand(
  flags: BenchCommsFlags,
  out: NodeJS.WriteStream,
  err: NodeJS.WriteStream,
): Promise<number> {
  const backup = generateBackupProblem({ windows: flags.windows, seed: flags.seed });
  const shop = generateJobShopScenario({ machines: flags.machines, seed: flags.seed });
  const rows = [
    ...runBenchmark(`backup problem, W=${flags.windows}`, backup, [], flags, err),
    ...runBenchmark(
      `job shop, ${flags.machines} machines, ${shop.params.breakdowns} breakdowns`,
      shop,
      shop.changes,
      flags,
      err,
    ),
  ];
  const command = `consort bench comms --trials ${flags.trials} --seed ${flags.seed} --windows ${flags.windows} --machines ${flags.machines}`;
  const svgFile = flags.svg ?? (flags.out ? flags.out.replace(/[^/\\]*$/, "comms.svg") : undefined);
  if (svgFile) await writeFile(svgFile, commsChart(rows));

  const verdicts = [...new Set(rows.map((r) => r.benchmark))].map((b) => {
    const rs = rows.filter((r) => r.benchmark === b);
    const always = rs[0]!;
    const quiet = rs.find((r) => r.name === "selective ε=0.05 + silence")!;
    const cells = rs.filter((r) => r.name.startsWith("cells"));
    const bestCells = cells.reduce((a, c) => (c.coordinatorInbound < a.coordinatorInbound ? c : a));
    return {
      benchmark: b,
      text: `${b}: selective + silence sends ${quiet.fewerThanAlways.toFixed(1)}x fewer messages than always-broadcast (${quiet.messages.toFixed(0)} against ${always.messages.toFixed(0)} a trial; ${(always.bytes / Math.max(1, quiet.bytes)).toFixed(1)}x fewer bytes) for ${(100 * quiet.qualityLoss).toFixed(1)}% ${quiet.qualityLoss >= 0 ? "less" : "more"} quality; the coordinator receives ${quiet.coordinatorInbound.toFixed(0)} messages a trial, ${bestCells.coordinatorInbound.toFixed(0)} with ${bestCells.name} (quality ${(100 * bestCells.qualityLoss).toFixed(1)}% ${bestCells.qualityLoss >= 0 ? "below" : "above"} always-broadcast).`,
      holds:
        quiet.fewerThanAlways >= 10 &&
        quiet.qualityLoss <= 0.02 &&
        bestCells.coordinatorInbound < quiet.coordinatorInbound,
    };
  });
  const table = [
    "| benchmark | policy | messages / trial | KiB / trial | fewer than always | quality (95%) | quality vs always | coordinator inbound / trial | by type |",
    "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ...rows.map(
      (r) =>
        `| ${r.benchmark} | ${r.name} | ${r.messages.toFixed(0)} | ${(r.bytes / 1024).toFixed(1)} | ${r.fewerThanAlways.toFixed(1)}x | ${r.quality.toFixed(2)} ± ${r.qualityCi.toFixed(2)} | ${(-100 * r.qualityLoss).toFixed(1)}% | ${r.coordinatorInbound.toFixed(0)} | ${Object.entries(
          r.byType,
        )
          .map(([t, n]) => `${t} ${n.toFixed(0)}`)
          .join(", ")} |`,
    ),
  ].join("\n");
  const section = [
    "## Communication policies: quality against messages",
    "",
    `Command: \`${command}\`  `,
    `Machine: ${machineLine()}  `,
    `Consort (CSC agents with the coordinator's deliberative scheduler), in-process lock-step, the same ${flags.trials} sampled trials for every policy (common random numbers). Messages are every coordination message agents and coordinator sent each other; bytes are their MessagePack envelopes plus topic, as published. Policies: always-broadcast (every profile to every sharer at every tick, every enabler notice at every tick); selective (a profile only when it moved by more than ε); silence (an escalation said once, repeated only when the node got worse; liveness from the broker's keep-alive and last will); cells (members escalate and answer to their cell's leader, the least member still present, which sends the coordinator one summary a tick). The job shop is C-TAEMS: a job is the min of a chain of operations (enables links), each the max of two methods on different machines, with machine breakdowns announced to the machine's agent.`,
    "",
    ...verdicts.map((v) => `- ${v.text}`),
    "",
    table,
    "",
    svgFile
      ? `Chart: \`${svgFile.replace(/^.*[/\\]/, "")}\` (quality against messages per trial, log scale).`
      : "",
  ].join("\n");
  if (flags.out) await writeSection(flags.out, "comms", section);
  if (flags.json)
    out.write(
      `${JSON.stringify({
        benchmark: "comms",
        command,
        machine: machineLine(),
        trials: flags.trials,
        seed: flags.seed,
        policies: rows,
        verdicts,
        ...(svgFile ? { chart: svgFile } : {}),
      })}\n`,
    );
  else out.write(`${section}\n`);
  return EXIT.ok;
}
