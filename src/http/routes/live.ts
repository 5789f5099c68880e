// GET /api/live: Warren's own endpoint (RabbitMQ has none), the console's live feed as
// server-sent events (src/http/live.ts): `event: overview` once a second, each `data:` one JSON
// object. Any management user may subscribe; what it counts is what that user may see.
import type { Hono } from "hono";
import type { AmqpBroker } from "../../connection/channel.ts";
import type { HttpEnv } from "../auth.ts";
import { type LiveEvent, liveFeedFor } from "../live.ts";

const encoder = new TextEncoder();

export function liveRoutes(app: Hono<HttpEnv>, broker: AmqpBroker): void {
  const feed = liveFeedFor(broker);
  broker.onStop(() => feed.closeAll());
  app.get("/api/live", (c) => {
    const user = c.get("user");
    let end = () => {};
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const send = (event: LiveEvent) => controller.enqueue(encoder.encode(`event: overview\ndata: ${JSON.stringify(event)}\n\n`));
        // The retry hint is for EventSource clients; the console reconnects by itself.
        controller.enqueue(encoder.encode("retry: 2000\n\n"));
        const unsubscribe = feed.subscribe(user, send, () => end());
        end = () => {
          unsubscribe();
          try {
            controller.close();
          } catch {
            // already closed by the client
          }
        };
        c.req.raw.signal.addEventListener("abort", () => end(), { once: true });
      },
      cancel() {
        end();
      },
    });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  });
}
