// Permission regexes as rabbit_auth_backend_internal evaluates them: an unanchored search of
// the resource name (or routing key), "" meaning "^$". Compiled once when set.

export type PermissionKind = "configure" | "write" | "read";

export interface Permission {
  configure: string;
  write: string;
  read: string;
}

export interface TopicPermission {
  exchange: string;
  write: string;
  read: string;
}

export const FULL_PERMISSION: Readonly<Permission> = { configure: ".*", write: ".*", read: ".*" };

/** A vhost permission with its regexes compiled. */
export interface CompiledPermission extends Permission {
  readonly test: Readonly<Record<PermissionKind, RegExp>>;
}

/** A topic permission: its patterns stay text, since {username} and {vhost} are expanded per check. */
export type CompiledTopicPermission = TopicPermission;

/**
 * PCRE syntax that JavaScript would accept but read differently (\A, \Z, \z, \G as literal
 * letters, POSIX classes as plain sets): refused rather than silently matching other names.
 */
const PCRE_ONLY = /(?:^|[^\\])(?:\\\\)*\\[AZzG]|\[\[:[a-z]+:\]/;

/** Compiles a permission pattern, or throws an Error naming the pattern that is not a regex. */
export function compilePattern(pattern: string): RegExp {
  if (PCRE_ONLY.test(pattern)) {
    throw new Error(`invalid regular expression '${pattern}': PCRE-only syntax (\\A, \\Z, \\z, \\G, [[:class:]]) is not supported`);
  }
  try {
    // Erlang's re:run searches anywhere in the subject, as RegExp.test does.
    return new RegExp(pattern === "" ? "^$" : pattern);
  } catch (err) {
    throw new Error(`invalid regular expression '${pattern}': ${(err as Error).message}`);
  }
}

export function compilePermission(p: Permission): CompiledPermission {
  return {
    configure: p.configure,
    write: p.write,
    read: p.read,
    test: { configure: compilePattern(p.configure), write: compilePattern(p.write), read: compilePattern(p.read) },
  };
}

/** Checks that both topic patterns compile (with placeholders as they are written). */
export function validateTopicPermission(p: TopicPermission): void {
  compilePattern(p.write);
  compilePattern(p.read);
}

/**
 * rabbit_auth_backend_internal:expand_topic_permission: "{name}" placeholders replaced by the
 * variables (for AMQP 0-9-1 connections RabbitMQ passes only username and vhost).
 */
export function expandTopicPattern(pattern: string, variables: Readonly<Record<string, string>>): string {
  let out = pattern === "" ? "^$" : pattern;
  for (const [name, value] of Object.entries(variables)) out = out.replaceAll(`{${name}}`, value);
  return out;
}
