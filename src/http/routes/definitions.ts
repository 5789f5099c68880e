// /api/definitions[/{vhost}] GET (export) and POST (import), administrators only.
import type { Hono } from "hono";
import type { AmqpBroker } from "../../connection/channel.ts";
import { DefinitionsError, exportDefinitions, importDefinitions } from "../../broker/definitions.ts";
import { type HttpEnv, requireAdmin } from "../auth.ts";
import { pathVhost } from "../context.ts";
import { committed } from "../commit.ts";
import { badRequest } from "../errors.ts";
import { readBody } from "../json.ts";
import { jsonObjectInSlices, jsonResponse } from "../json_slices.ts";

export function definitionRoutes(app: Hono<HttpEnv>, broker: AmqpBroker): void {
  const download = (filename: string | undefined): Record<string, string> =>
    filename ? { "content-disposition": `attachment; filename=${filename}` } : {};
  app.get("/api/definitions", async (c) => {
    requireAdmin(c);
    return jsonResponse(c, await jsonObjectInSlices(exportDefinitions(broker)), download(c.req.query("download")));
  });
  app.get("/api/definitions/:vhost", async (c) => {
    requireAdmin(c);
    const vhost = pathVhost(c, broker);
    return jsonResponse(c, await jsonObjectInSlices(exportDefinitions(broker, vhost.name)), download(c.req.query("download")));
  });
  const post = async (request: Request, vhost: string | undefined): Promise<Response> => {
    const body = await readBody(request);
    try {
      const summary = await importDefinitions(broker, body, vhost, (line) => broker.log.info(line));
      broker.log.info(`Imported definitions over HTTP: ${JSON.stringify(summary)}`);
    } catch (err) {
      if (err instanceof DefinitionsError) throw badRequest(err.message);
      throw err;
    }
    await committed(broker);
    return new Response(null, { status: 204 });
  };
  app.post("/api/definitions", async (c) => {
    requireAdmin(c);
    return post(c.req.raw, undefined);
  });
  app.post("/api/definitions/:vhost", async (c) => {
    requireAdmin(c);
    return post(c.req.raw, pathVhost(c, broker).name);
  });
}
