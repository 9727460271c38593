/**
 * The serial line protocol: ASCII lines ending in `\n` (`\r\n` accepted), one message a line,
 * fields separated by single spaces. A program name (what the device calls an activity) has no
 * whitespace.
 *
 * agent → device          device → agent
 * `START <program>`       `RUNNING <program>` (accepted) or `REJECTED <program> <why>`
 *                         later `DONE <program> <quality>` or `FAULT <program> <code>`
 * `ABORT <program>`       `ABORTED <program>`
 * `STATUS?`               `STATUS IDLE`, `STATUS RUNNING <program>`,
 *                         `STATUS DONE <program> <quality>`, `STATUS FAULT <program> <code>`
 *
 * `STATUS?` is also the heartbeat: the agent asks while a run is under way, and a device that
 * leaves it unanswered too often has stopped answering.
 */
export type DeviceLine =
  | { readonly kind: "running"; readonly program: string }
  | { readonly kind: "rejected"; readonly program: string; readonly why: string }
  | { readonly kind: "done"; readonly program: string; readonly quality: number }
  | { readonly kind: "fault"; readonly program: string; readonly code: string }
  | { readonly kind: "aborted"; readonly program: string }
  | { readonly kind: "status"; readonly state: DeviceStatus };

export type DeviceStatus =
  | { readonly kind: "idle" }
  | { readonly kind: "running"; readonly program: string }
  | { readonly kind: "done"; readonly program: string; readonly quality: number }
  | { readonly kind: "fault"; readonly program: string; readonly code: string };

export type AgentLine =
  | { readonly kind: "start"; readonly program: string }
  | { readonly kind: "abort"; readonly program: string }
  | { readonly kind: "status" };

/** A program name as the line protocol carries it. */
export const PROGRAM_PATTERN = "^[!-~]{1,64}$";

/** Reads a device's line; undefined: not a line of this protocol (the caller logs it). */
export function parseDeviceLine(text: string): DeviceLine | undefined {
  const f = text.trim().split(/ +/);
  const [word, a, b] = f;
  switch (word) {
    case "RUNNING":
      return f.length === 2 ? { kind: "running", program: a! } : undefined;
    case "REJECTED":
      return f.length >= 2
        ? { kind: "rejected", program: a!, why: f.slice(2).join(" ") }
        : undefined;
    case "DONE": {
      const quality = Number(b);
      return f.length === 3 && Number.isFinite(quality)
        ? { kind: "done", program: a!, quality }
        : undefined;
    }
    case "FAULT":
      return f.length === 3 ? { kind: "fault", program: a!, code: b! } : undefined;
    case "ABORTED":
      return f.length === 2 ? { kind: "aborted", program: a! } : undefined;
    case "STATUS": {
      const state = parseDeviceLine(f.slice(1).join(" "));
      if (a === "IDLE" && f.length === 2) return { kind: "status", state: { kind: "idle" } };
      if (state?.kind === "running" || state?.kind === "done" || state?.kind === "fault")
        return { kind: "status", state };
      return undefined;
    }
    default:
      return undefined;
  }
}

/** Reads an agent's line (the device side: the rig's emulator, or firmware written to it). */
export function parseAgentLine(text: string): AgentLine | undefined {
  const f = text.trim().split(/ +/);
  if (f.length === 1 && f[0] === "STATUS?") return { kind: "status" };
  if (f.length === 2 && f[0] === "START") return { kind: "start", program: f[1]! };
  if (f.length === 2 && f[0] === "ABORT") return { kind: "abort", program: f[1]! };
  return undefined;
}

export function formatAgentLine(line: AgentLine): string {
  switch (line.kind) {
    case "start":
      return `START ${line.program}\n`;
    case "abort":
      return `ABORT ${line.program}\n`;
    case "status":
      return "STATUS?\n";
  }
}

export function formatDeviceLine(line: DeviceLine): string {
  const body = (s: DeviceStatus | Exclude<DeviceLine, { kind: "status" }>): string => {
    switch (s.kind) {
      case "idle":
        return "IDLE";
      case "running":
        return `RUNNING ${s.program}`;
      case "rejected":
        return `REJECTED ${s.program} ${s.why}`;
      case "done":
        return `DONE ${s.program} ${s.quality}`;
      case "fault":
        return `FAULT ${s.program} ${s.code}`;
      case "aborted":
        return `ABORTED ${s.program}`;
    }
  };
  return `${line.kind === "status" ? `STATUS ${body(line.state)}` : body(line)}\n`;
}
