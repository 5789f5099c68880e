// The two endpoints RabbitMQ's web UI calls when it loads: /api/auth (how to log in; no
// credentials needed) and /api/extensions (the UI's plugin scripts).
import type { Hono } from "hono";
import type { HttpEnv } from "../auth.ts";

/** Before the authentication middleware: the login page reads it before anyone logs in. */
export function publicWebUiRoutes(app: Hono<HttpEnv>): void {
  // RabbitMQ 3.10 without OAuth 2 (rabbit_mgmt_wm_auth): no UAA login.
  app.get("/api/auth", (c) => c.json({ enable_uaa: false, uaa_client_id: "", uaa_location: "" }));
}

export function webUiRoutes(app: Hono<HttpEnv>): void {
  // Warren has no web UI plugins, so no extension scripts to load.
  app.get("/api/extensions", (c) => c.json([]));
}
