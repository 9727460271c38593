import { describe, expect, it } from "vitest";
import { type AgentSettings, DEVICE_PASSWORD_ENV, deviceSettings } from "./settings.js";

const base = {
  agentId: "press-1",
  site: "plant-a",
  broker: "mqtt://127.0.0.1:1883",
  journal: "/tmp/x.journal",
  journalSync: false,
  clock: "wall",
  epochMs: 0,
  tickMs: 1000,
  heuristic: "greedy",
  logLevel: "warn",
} as const;
const withEnv = (environment: unknown) => ({ ...base, environment }) as unknown as AgentSettings;

describe("the agent's environment setting", () => {
  it("sim and no setting mean the simulated resource", () => {
    expect(deviceSettings(withEnv({ kind: "sim" }))).toEqual({ ok: true });
    expect(deviceSettings({ ...base } as AgentSettings)).toEqual({ ok: true });
  });

  it("checks a device block against its kind's schema, in one line naming the setting", () => {
    const r = deviceSettings(withEnv({ kind: "modbus", host: "127.0.0.1" }));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatch(/^environment/);
      expect(r.error).not.toContain("\n");
    }
  });

  it("takes the VDA 5050 broker password from the environment variable, over the file", () => {
    const r = deviceSettings(
      withEnv({
        kind: "vda5050",
        broker: "mqtt://127.0.0.1:1884",
        manufacturer: "acme",
        serialNumber: "agv-1",
        password: "from-file",
      }),
      { [DEVICE_PASSWORD_ENV]: "from-env" },
    );
    expect(r.ok && (r.value as { password?: string } | undefined)?.password).toBe("from-env");
  });

  it("refuses a device password for Modbus, which has none", () => {
    const r = deviceSettings(withEnv({ kind: "modbus" }), { [DEVICE_PASSWORD_ENV]: "x" });
    expect(r).toEqual({
      ok: false,
      error: `${DEVICE_PASSWORD_ENV} is set but Modbus has no password`,
    });
  });

  it("accepts a serial line and GPIO lines, and refuses a device password for them", () => {
    const serial = deviceSettings(withEnv({ kind: "serial", path: "/dev/ttyUSB0" }));
    expect(serial.ok && serial.value).toMatchObject({ kind: "serial", baudRate: 9600 });
    const gpio = deviceSettings(
      withEnv({
        kind: "gpio",
        chip: "gpiochip0",
        lines: { start: { offset: 17 }, running: { offset: 22 }, done: { offset: 23 } },
      }),
    );
    expect(gpio.ok && gpio.value).toMatchObject({ kind: "gpio", pulseMs: 100 });
    expect(
      deviceSettings(withEnv({ kind: "serial", path: "/dev/ttyS0" }), {
        [DEVICE_PASSWORD_ENV]: "x",
      }),
    ).toEqual({
      ok: false,
      error: `${DEVICE_PASSWORD_ENV} is set but a serial device has no password`,
    });
  });
});
