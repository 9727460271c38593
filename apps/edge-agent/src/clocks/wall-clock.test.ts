import { describe, expect, it } from "vitest";
import { WallClock } from "./wall-clock.js";

describe("WallClock", () => {
  it("counts ticks from its epoch and fires timers at their wall-clock instant", async () => {
    const epoch = Date.now();
    const clock = new WallClock(epoch, 20);
    expect(clock.now()).toBeGreaterThanOrEqual(0);
    const fired: number[] = [];
    const started = Date.now();
    await new Promise<void>((resolve) => {
      clock.at(clock.now() + 3, () => {
        fired.push(Date.now() - started);
        resolve();
      });
    });
    expect(fired[0]).toBeGreaterThanOrEqual(30); // at least two whole ticks later
    clock.stop();
  });
  it("runs a timer whose time has passed at once, and cancels", async () => {
    const clock = new WallClock(Date.now() - 1000, 10);
    const ran: string[] = [];
    clock.at(5, () => ran.push("past"));
    const h = clock.at(clock.now() + 50, () => ran.push("cancelled"));
    clock.cancel(h);
    await new Promise((r) => setTimeout(r, 30));
    expect(ran).toEqual(["past"]);
    clock.stop();
  });
});
