// /api/policies[/{vhost}[/{name}]] and /api/operator-policies[/{vhost}[/{name}]], on
// Vhost.setPolicy/clearPolicy (src/broker/policy.ts). Policies need the policymaker or
// administrator tag, operator policies administrator, as rabbit_mgmt_util decides.
import type { Context, Hono } from "hono";
import type { AmqpBroker } from "../../connection/channel.ts";
import { type PolicyBody, policyJson, type PolicyKind } from "../../broker/policy.ts";
import type { Vhost } from "../../broker/vhost.ts";
import { type HttpEnv, requireAdmin, requirePolicymaker } from "../auth.ts";
import { byName, pathVhost, visibleVhosts } from "../context.ts";
import { notFound } from "../errors.ts";
import { readBody } from "../json.ts";

const PATHS: [PolicyKind, string][] = [["policy", "/api/policies"], ["operator_policy", "/api/operator-policies"]];

function requirePolicyMaker(c: Context<HttpEnv>, kind: PolicyKind): void {
  if (kind === "operator_policy") requireAdmin(c);
  else requirePolicymaker(c);
}

function listed(vhost: Vhost, kind: PolicyKind) {
  return [...(kind === "policy" ? vhost.policies : vhost.operatorPolicies).values()].map(policyJson);
}

export function policyRoutes(app: Hono<HttpEnv>, broker: AmqpBroker): void {
  for (const [kind, base] of PATHS) {
    app.get(base, (c) => {
      requirePolicyMaker(c, kind);
      return c.json(byName(visibleVhosts(c, broker).flatMap((v) => listed(v, kind))));
    });
    app.get(`${base}/:vhost`, (c) => {
      requirePolicyMaker(c, kind);
      return c.json(byName(listed(pathVhost(c, broker), kind)));
    });
    app.get(`${base}/:vhost/:name`, (c) => {
      requirePolicyMaker(c, kind);
      const vhost = pathVhost(c, broker);
      const policy = (kind === "policy" ? vhost.policies : vhost.operatorPolicies).get(c.req.param("name"));
      if (!policy) throw notFound();
      return c.json(policyJson(policy));
    });
    app.put(`${base}/:vhost/:name`, async (c) => {
      requirePolicyMaker(c, kind);
      const vhost = pathVhost(c, broker);
      const name = c.req.param("name");
      const body = (await readBody(c.req.raw)) as unknown as PolicyBody;
      const existed = (kind === "policy" ? vhost.policies : vhost.operatorPolicies).has(name);
      vhost.setPolicy(kind, name, body);
      broker.store?.commit();
      return c.body(null, existed ? 204 : 201);
    });
    app.delete(`${base}/:vhost/:name`, (c) => {
      requirePolicyMaker(c, kind);
      const vhost = pathVhost(c, broker);
      if (!vhost.clearPolicy(kind, c.req.param("name"))) throw notFound();
      broker.store?.commit();
      return c.body(null, 204);
    });
  }
}
