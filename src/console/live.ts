// The live feed: GET /api/live as server-sent events, read with fetch (so the Basic header goes
// with it; EventSource cannot send one). When the stream breaks, the banner says the broker is
// lost and we reconnect with backoff; when it is back, listeners are told to reload.
import { apiUrl, authHeader, unauthorised } from "./api.ts";

export interface LiveEvent {
  at: number;
  object_totals: { connections: number; channels: number; exchanges: number; queues: number; consumers: number };
  queue_totals: { messages: number; messages_ready: number; messages_unacknowledged: number };
  message_stats: Record<string, number>;
  rates: Record<string, number>;
  alarms: string[];
  changed: string[];
}

type Listener = (event: LiveEvent) => void;

const listeners = new Set<Listener>();
const reconnectListeners = new Set<() => void>();
let controller: AbortController | undefined;
let last: LiveEvent | undefined;
let lost = false;

export function onLive(listener: Listener): () => void {
  listeners.add(listener);
  if (last) listener(last);
  return () => listeners.delete(listener);
}

export function onReconnect(listener: () => void): () => void {
  reconnectListeners.add(listener);
  return () => reconnectListeners.delete(listener);
}

export function latest(): LiveEvent | undefined {
  return last;
}

function banner(text: string | null): void {
  const el = document.getElementById("banner");
  if (!el) return;
  el.hidden = text === null;
  el.textContent = text ?? "";
}

export function stopLive(): void {
  controller?.abort();
  controller = undefined;
  last = undefined;
  if (lost) banner(null);
  lost = false;
}

export function startLive(): void {
  stopLive();
  const mine = (controller = new AbortController());
  void run(mine);
}

async function run(mine: AbortController): Promise<void> {
  let delay = 500;
  while (!mine.signal.aborted) {
    try {
      const response = await fetch(apiUrl("live"), { headers: authHeader(), signal: mine.signal });
      if (response.status === 401) {
        // The user was deleted or its password changed: the session is over, not the broker.
        const reason = ((await response.json().catch(() => ({}))) as { reason?: string }).reason ?? "Login failed";
        for (const listener of unauthorised) listener(reason);
        return;
      }
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      await read(response.body, mine, () => {
        delay = 500;
        if (lost) {
          lost = false;
          banner(null);
          for (const l of reconnectListeners) l();
        }
      });
      if (mine.signal.aborted) return;
      throw new Error("the stream ended");
    } catch (err) {
      if (mine.signal.aborted) return;
      lost = true;
      banner(`Lost the connection to the broker (${(err as Error).message}). Reconnecting…`);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 5000);
  }
}

async function read(body: ReadableStream<Uint8Array>, mine: AbortController, connected: () => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  while (!mine.signal.aborted) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
      if (data === "") continue;
      last = JSON.parse(data) as LiveEvent;
      connected();
      for (const l of listeners) l(last);
    }
  }
}
