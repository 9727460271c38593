import pino, { type Logger } from "pino";
import pretty from "pino-pretty";

/**
 * The process's log: JSON lines on stderr (stdout keeps the human summary), pretty when stderr
 * is a terminal. Level from CONSORT_LOG_LEVEL, `info` by default.
 */
export function processLogger(
  name: string,
  level = process.env.CONSORT_LOG_LEVEL ?? "info",
): Logger {
  const destination = process.stderr.isTTY
    ? pretty({ destination: 2, colorize: true, translateTime: "SYS:HH:MM:ss.l", sync: true })
    : pino.destination({ fd: 2, sync: true });
  return pino({ name, level }, destination);
}
