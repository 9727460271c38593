/**
 * An agent process started by a launcher that supervises it (`consort fleet`) gets an IPC channel
 * from it (`stdio: [..., "ipc"]`). The kernel closes that channel when the launcher dies, even by
 * SIGKILL, which lets the agent go with it instead of retrying a broker nobody will stop. A
 * process run any other way (systemd, a shell, a test) has no channel and is not affected.
 *
 * Resolves when the launcher is gone; never, without a channel.
 */
export function untilLauncherGone(proc: NodeJS.Process = process): Promise<void> {
  // Node sets `connected` only for a process started with a channel; false once it has closed,
  // which may have happened already while the program was still loading.
  if (proc.connected === false) return Promise.resolve();
  if (!proc.channel) return new Promise<void>(() => {});
  // The channel must not keep the process alive by itself: a stopped agent still exits.
  proc.channel.unref();
  return new Promise<void>((resolve) => proc.once("disconnect", () => resolve()));
}
