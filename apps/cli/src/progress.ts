import type { SolveProgress } from "@consort/core";
import cliProgress from "cli-progress";

/** What a long computation reports to the person watching. */
export interface ProgressSink {
  update(progress: SolveProgress): void;
  stop(): void;
}

const silent: ProgressSink = { update: () => {}, stop: () => {} };

/**
 * A progress bar on standard error over the time budget, shown only on a terminal (never in
 * pipes, CI logs or --json runs read by programs).
 */
export function solveProgress(
  stream: NodeJS.WriteStream,
  timeLimitMs: number,
  enabled: boolean,
): ProgressSink {
  if (!enabled || !stream.isTTY || timeLimitMs < 1000) return silent;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: "solving |{bar}| {elapsed}s / {limit}s | best {best} | {iterations} iterations",
      hideCursor: true,
      clearOnComplete: true,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  const limit = (timeLimitMs / 1000).toFixed(0);
  bar.start(timeLimitMs, 0, { elapsed: "0.0", limit, best: "-", iterations: 0 });
  return {
    update: (p) =>
      bar.update(Math.min(p.elapsedMs, timeLimitMs), {
        elapsed: (p.elapsedMs / 1000).toFixed(1),
        limit,
        best: p.bestValue,
        iterations: p.iterations.toLocaleString("en"),
      }),
    stop: () => bar.stop(),
  };
}
