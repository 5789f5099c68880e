// Mounts plugins' management routes on the app at boot. A path is served by the first running
// plugin that registered it; with none running it answers 404, as if it were not there (a plugin
// can be enabled and disabled at run time, and a third-party plugin may serve a path a built-in
// one also has while that one is off).
import type { Hono } from "hono";
import type { PluginRoutes, RouteHandler } from "../plugins/api.ts";
import type { PluginRouteSource } from "../plugins/manager.ts";
import type { HttpEnv } from "./auth.ts";
import { errorBody, notFound } from "./errors.ts";

type Method = "get" | "put" | "post" | "delete";

export function mountPluginRoutes(app: Hono<HttpEnv>, sources: readonly PluginRouteSource[]): void {
  const served = new Map<string, { source: PluginRouteSource; handler: RouteHandler }[]>();
  const add = (method: Method, path: string, source: PluginRouteSource, handler: RouteHandler) => {
    const key = `${method} ${path}`;
    let claims = served.get(key);
    if (!claims) {
      served.set(key, claims = []);
      const all = claims;
      app[method](path, (c) => {
        const claim = all.find((x) => x.source.running());
        return claim ? claim.handler(c) : c.json(errorBody(notFound()), 404);
      });
    }
    claims.push({ source, handler });
  };
  for (const source of sources) {
    const routes: PluginRoutes = {
      get: (path, handler) => add("get", path, source, handler),
      put: (path, handler) => add("put", path, source, handler),
      post: (path, handler) => add("post", path, source, handler),
      delete: (path, handler) => add("delete", path, source, handler),
    };
    source.mount(routes);
  }
}
