// The web console (src/console/, bundled by scripts/build_console.ts into console_assets.gen.ts,
// so dist/warren carries it): its page at / and /index.html, its script and stylesheet. Served
// without authentication (the page asks for a login and sends Basic credentials to /api/).
import type { Hono } from "hono";
import type { HttpEnv } from "../auth.ts";
import { CONSOLE_ASSETS } from "../console_assets.gen.ts";

/** The page loads nothing from elsewhere; inline styles are uPlot's. */
const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

export function consoleRoutes(app: Hono<HttpEnv>): void {
  for (const asset of CONSOLE_ASSETS) {
    const paths = asset.path === "/index.html" ? ["/", "/index.html"] : [asset.path];
    const etag = `"${asset.hash}"`;
    for (const path of paths) {
      app.get(path, (c) => {
        const headers = { ...SECURITY_HEADERS, etag, "cache-control": "no-cache", "content-type": asset.type };
        if (c.req.header("if-none-match") === etag) return new Response(null, { status: 304, headers });
        return new Response(asset.body, { headers });
      });
    }
  }
}
