// The management API of rabbitmq_federation_management: link status (all, per vhost, only those
// down) and restarting a link; and the Prometheus gauge of rabbitmq_federation_prometheus.
import type { PluginRoutes } from "../../src/plugins/api.ts";
import { requireMonitor, requirePolicymaker } from "../../src/http/auth.ts";
import { notFound } from "../../src/http/errors.ts";
import type { LinkSupervisor } from "./supervisor.ts";
import { linkJson, type LinkStatusEntry } from "./status.ts";

export interface FederationView {
  /** The running supervisor, or undefined while the plugin is stopped. */
  supervisor(): LinkSupervisor | undefined;
  node(): string;
  hasVhost(name: string): boolean;
}

export function federationRoutes(routes: PluginRoutes, view: FederationView): void {
  const list = (vhost: string | undefined, downOnly: boolean) => {
    if (vhost !== undefined && !view.hasVhost(vhost)) throw notFound();
    const entries = (view.supervisor()?.statuses() ?? [])
      .filter((e) => vhost === undefined || e.vhost === vhost)
      .filter((e) => !downOnly || (e.state !== "running" && e.state !== "starting"))
      .sort(byIdentity);
    return entries.map((e) => linkJson(e, view.node()));
  };
  routes.get("/api/federation-links", (c) => (requireMonitor(c), c.json(list(undefined, false))));
  routes.get("/api/federation-links/state/down", (c) => (requireMonitor(c), c.json(list(undefined, true))));
  routes.get("/api/federation-links/:vhost", (c) => (requireMonitor(c), c.json(list(c.req.param("vhost"), false))));
  routes.get("/api/federation-links/:vhost/state/down", (c) => (requireMonitor(c), c.json(list(c.req.param("vhost"), true))));
  routes.delete("/api/federation-links/vhost/:vhost/:id/:node/restart", (c) => {
    requirePolicymaker(c);
    const vhost = c.req.param("vhost") ?? "";
    const id = c.req.param("id") ?? "";
    const node = c.req.param("node") ?? "";
    const supervisor = view.supervisor();
    const entry = supervisor?.statuses().find((e) => e.id === id && e.vhost === vhost);
    if (!supervisor || !entry || node !== view.node() || !view.hasVhost(vhost)) throw notFound();
    supervisor.restart(id);
    return c.body(null, 204);
  });
}

/** rabbitmq_federation_links{status=…}: links by status; and messages each link moved. */
export function federationMetrics(entries: readonly LinkStatusEntry[], forwarded: number): string {
  const byStatus = new Map<string, number>();
  for (const e of entries) byStatus.set(e.state, (byStatus.get(e.state) ?? 0) + 1);
  let text = "# TYPE rabbitmq_federation_links gauge\n# HELP rabbitmq_federation_links Number of federation links\n";
  for (const [status, count] of byStatus) text += `rabbitmq_federation_links{status="${status}"} ${count}\n`;
  text += "# TYPE warren_federation_messages_forwarded_total counter\n";
  text += "# HELP warren_federation_messages_forwarded_total Messages federation links published downstream\n";
  text += `warren_federation_messages_forwarded_total ${forwarded}\n`;
  text += "# TYPE warren_federation_link_failovers_total counter\n";
  text += "# HELP warren_federation_link_failovers_total Times a link reconnected to another URI of its upstream (another cluster node)\n";
  for (const e of entries) {
    const labels = `vhost="${label(e.vhost)}",type="${e.kind}",name="${label(e.name)}",upstream="${label(e.upstream)}"`;
    text += `warren_federation_link_failovers_total{${labels}} ${e.nodes.failoverCount}\n`;
  }
  return text;
}

function byIdentity(a: LinkStatusEntry, b: LinkStatusEntry): number {
  const ka = `${a.vhost}\u0000${a.kind}\u0000${a.name}\u0000${a.upstream}`;
  const kb = `${b.vhost}\u0000${b.kind}\u0000${b.name}\u0000${b.upstream}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

const label = (s: string) => s.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
