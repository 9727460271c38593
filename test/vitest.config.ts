import { defineConfig } from "vitest/config";

// End-to-end tests start real processes; give them room, and run files one at a time so the
// two cores are not oversubscribed by parallel fleets.
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
