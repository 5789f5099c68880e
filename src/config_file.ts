// warren.conf: RabbitMQ's rabbitmq.conf format (cuttlefish's sysctl style), read at boot.
//
//   # a comment
//   listeners.tcp.default = 5672
//   default_pass = 'has#hash'   # single quotes keep a '#'; a trailing comment is allowed
//
// Keys are dot-separated words of letters, digits, '_' and '-' ("\." is a dot inside a word).
// A value runs to the end of the line or to a '#'; surrounding blanks are trimmed. What each
// key means is in config_keys.ts; docs/configuration.md lists them.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { BrokerOptions } from "./config.ts";
import { applySettings, type ConfigEntry, ConfigFileError } from "./config_keys.ts";

export { type ConfigEntry, ConfigFileError };

export interface LoadedConfig {
  /** The file actually read (RABBITMQ_CONFIG_FILE may leave out ".conf"). */
  file: string;
  /** Every file read: the main file, then conf.d/*.conf beside it in name order. */
  files: string[];
  options: Partial<BrokerOptions>;
  /** One line per accepted setting that Warren ignores, to be logged as warnings. */
  warnings: string[];
}

const WORD = /^(?:\\\.|[A-Za-z0-9_-])+$/;

/** Parses the text of a config file into its settings, in file order. */
export function parseConfig(text: string, file: string): ConfigEntry[] {
  const entries: ConfigEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const raw = lines[i]!;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const fail = (why: string): never => {
      throw new ConfigFileError(`Error in config file ${file} line ${line}: ${why}`);
    };
    if (/^include\s/.test(trimmed)) fail(`"include" is not supported: put the settings in this file`);
    const eq = trimmed.indexOf("=");
    if (eq < 0) fail(`expected "key = value", got "${trimmed}"`);
    const key = trimmed.slice(0, eq).trim();
    const words = splitKey(key);
    if (key === "" || words.some((w) => !WORD.test(w))) {
      fail(`invalid key "${key}": a key is words of letters, digits, "_" and "-" joined by dots`);
    }
    const value = parseValue(trimmed.slice(eq + 1).trim(), fail);
    if (value === "") fail(`no value for "${key}"`);
    entries.push({ path: words.map((w) => w.replaceAll("\\.", ".")), key, value, line });
  }
  return entries;
}

/** Splits at dots that are not escaped as "\.". */
function splitKey(key: string): string[] {
  const words: string[] = [];
  let start = 0;
  for (let i = 0; i < key.length; i++) {
    if (key[i] === "\\" && key[i + 1] === ".") i++;
    else if (key[i] === ".") {
      words.push(key.slice(start, i));
      start = i + 1;
    }
  }
  words.push(key.slice(start));
  return words;
}

/** A value in single quotes is taken as is ('#' included); otherwise it ends at a '#'. */
function parseValue(text: string, fail: (why: string) => never): string {
  if (text.startsWith("'")) {
    const end = text.indexOf("'", 1);
    if (end < 0) fail(`unterminated quoted value ${text}`);
    const rest = text.slice(end + 1).trim();
    if (rest !== "" && !rest.startsWith("#")) fail(`unexpected text after the quoted value: "${rest}"`);
    return text.slice(1, end);
  }
  const hash = text.indexOf("#");
  return (hash < 0 ? text : text.slice(0, hash)).trim();
}

/**
 * Finds the file as RabbitMQ finds RABBITMQ_CONFIG_FILE: the path itself when it is a file,
 * else the path with ".conf" added. The Erlang-term format (".config") is refused.
 */
export function locateConfigFile(path: string): string {
  const isFile = (p: string) => existsSync(p) && statSync(p).isFile();
  const erlangFormat = (p: string) =>
    new ConfigFileError(
      `Cannot read config file ${p}: the Erlang-term format (.config) is not supported; use the rabbitmq.conf format (key = value)`,
    );
  if (isFile(path)) {
    if (path.endsWith(".config")) throw erlangFormat(path);
    return path;
  }
  if (isFile(`${path}.conf`)) return `${path}.conf`;
  if (isFile(`${path}.config`)) throw erlangFormat(`${path}.config`);
  const tried = path.endsWith(".conf") ? "" : ` (nor ${path}.conf)`;
  throw new ConfigFileError(`Cannot read config file ${path}: there is no such file${tried}`);
}

/**
 * Reads, parses and checks a config file and the `conf.d/*.conf` files beside it (in name
 * order, each over the ones before, as RabbitMQ reads its conf.d); every problem throws a
 * ConfigFileError naming the file and line.
 */
export function loadConfigFile(path: string): LoadedConfig {
  const file = locateConfigFile(path);
  const files = [file, ...confD(join(dirname(file), "conf.d"))];
  const entries = files.flatMap((f) => parseConfig(read(f), f).map((entry) => ({ ...entry, file: f })));
  const { options, warnings } = applySettings(entries, file);
  return { file, files, options, warnings };
}

function read(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigFileError(`Cannot read config file ${file}: ${(err as Error).message}`);
  }
}

/** The `.conf` files of a conf.d directory, sorted by name; none when there is no directory. */
function confD(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir).filter((name) => name.endsWith(".conf")).sort().map((name) => join(dir, name))
    .filter((f) => statSync(f).isFile());
}
