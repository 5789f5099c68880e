// Mounts plugins' management routes on the app at boot. A route of a plugin that is not running
// answers 404, as if it were not there (a plugin can be enabled and disabled at run time).
import type { Hono } from "hono";
import type { PluginRoutes, RouteHandler } from "../plugins/api.ts";
import type { PluginRouteSource } from "../plugins/manager.ts";
import type { HttpEnv } from "./auth.ts";
import { errorBody, notFound } from "./errors.ts";

export function mountPluginRoutes(app: Hono<HttpEnv>, sources: readonly PluginRouteSource[]): void {
  for (const source of sources) {
    const guard = (handler: RouteHandler): RouteHandler => (c) => source.running() ? handler(c) : c.json(errorBody(notFound()), 404);
    const routes: PluginRoutes = {
      get: (path, handler) => void app.get(path, guard(handler)),
      put: (path, handler) => void app.put(path, guard(handler)),
      post: (path, handler) => void app.post(path, guard(handler)),
      delete: (path, handler) => void app.delete(path, guard(handler)),
    };
    source.mount(routes);
  }
}
