// One line per event, with RabbitMQ's levels and timestamp style:
// 2026-11-21 16:30:00.123456+00:00 [info] message
// or, with log.console.formatter = json, one JSON object per line as RabbitMQ's json formatter:
// {"time":"2026-11-21 16:30:00.123456+00:00","level":"info","msg":"message"}
import type { LogLevel } from "./config.ts";

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warning: 2, error: 3, none: 4 };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  enabled(level: LogLevel): boolean;
}

export function createLogger(level: LogLevel, write: (line: string) => void = defaultWrite, format: "text" | "json" = "text"): Logger {
  const min = RANK[level];
  const emit = format === "json"
    ? (lvl: LogLevel, message: string) => {
      if (RANK[lvl] >= min) write(JSON.stringify({ time: timestamp(), level: lvl, msg: message }) + "\n");
    }
    : (lvl: LogLevel, message: string) => {
      if (RANK[lvl] >= min) write(`${timestamp()} [${lvl}] ${message}\n`);
    };
  return {
    debug: (m) => emit("debug", m),
    info: (m) => emit("info", m),
    warning: (m) => emit("warning", m),
    error: (m) => emit("error", m),
    enabled: (lvl) => RANK[lvl] >= min,
  };
}

function defaultWrite(line: string): void {
  process.stdout.write(line);
}

function timestamp(): string {
  const d = new Date();
  const iso = d.toISOString(); // 2026-11-21T16:30:00.123Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}000+00:00`;
}

export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warning", "error", "none"];
