// Admin: users (and a user's permissions and topic permissions), virtual hosts, policies,
// operator policies, limits and feature flags. Administrators see all of it; policymakers the
// policies (as RabbitMQ's Admin tab).
import { api, get } from "../api.ts";
import { type Child, h, href, path, replace } from "../dom.ts";
import { args, num } from "../format.ts";
import { act, facts, form, type ListView, listView, parseJsonObject, section } from "../ui.ts";
import { vhostNames } from "./common.ts";
import type { Page, Session } from "./page.ts";

interface User {
  name: string;
  tags: string[] | string;
  password_hash?: string;
}
interface Permission {
  user: string;
  vhost: string;
  configure: string;
  write: string;
  read: string;
}
interface TopicPermission {
  user: string;
  vhost: string;
  exchange: string;
  write: string;
  read: string;
}
interface Policy {
  vhost: string;
  name: string;
  pattern: string;
  "apply-to": string;
  priority: number;
  definition: Record<string, unknown>;
}

const tagsOf = (u: User) => (Array.isArray(u.tags) ? u.tags.join(", ") : u.tags);

const SUBPAGES: { id: string; title: string; admin: boolean }[] = [
  { id: "users", title: "Users", admin: true },
  { id: "vhosts", title: "Virtual hosts", admin: true },
  { id: "policies", title: "Policies", admin: false },
  { id: "limits", title: "Limits", admin: true },
  { id: "flags", title: "Feature flags", admin: true },
];

export const adminPage: Page = {
  id: "admin",
  title: "Admin",
  visible: (s) => s.is("administrator") || s.is("policymaker"),
  async render(view, params, session) {
    const subs = SUBPAGES.filter((p) => !p.admin || session.is("administrator"));
    const current = subs.find((p) => p.id === params[0]) ?? subs[0]!;
    const body = h("div");
    replace(
      view,
      h("h1", { tabindex: -1 }, `Admin: ${current.title}`),
      h(
        "nav",
        { class: "subnav", "aria-label": "Admin sections" },
        ...subs.map((p) => h("a", { href: href("admin", p.id), "aria-current": p.id === current.id ? "page" : undefined }, p.title)),
      ),
      body,
    );
    const lists: ListView[] = [];
    const add = (l: ListView) => (lists.push(l), l.el);
    switch (current.id) {
      case "users":
        if (params[1] !== undefined) await userDetail(body, params[1], add);
        else await users(body, add);
        break;
      case "vhosts":
        vhosts(body, add);
        break;
      case "policies":
        await policies(body, add, session);
        break;
      case "limits":
        await limits(body, add);
        break;
      case "flags":
        replace(
          body,
          add(listView<{ name: string; desc: string; state: string; stability: string }>({
            path: "feature-flags",
            label: "feature flags",
            columns: [
              { label: "Name", cell: (f) => f.name },
              { label: "State", cell: (f) => f.state },
              { label: "Stability", cell: (f) => f.stability },
              { label: "Description", cell: (f) => f.desc },
            ],
          })),
        );
        break;
    }
    return () => lists.forEach((l) => l.dispose());
  },
};

function deleteButton(label: string, apiPath: string, done: string, after: () => unknown): HTMLElement {
  return h("button", {
    type: "button",
    class: "danger",
    "aria-label": label,
    onclick: async () => {
      if (!confirm(`${label}?`)) return;
      if (await act(() => api("DELETE", apiPath), done)) await after();
    },
  }, "Delete");
}

async function users(body: HTMLElement, add: (l: ListView) => Child) {
  const list: ListView = listView<User>({
    path: "users",
    label: "users",
    columns: [
      { label: "Name", sort: "name", cell: (u) => h("a", { href: href("admin", "users", u.name) }, u.name) },
      { label: "Tags", cell: tagsOf },
      { label: "Password", cell: (u) => (u.password_hash ? "set" : "none") },
      {
        label: "Action",
        cell: (u) => deleteButton(`Delete user ${u.name}`, path("users", u.name), `User ${u.name} deleted`, () => list.refresh()),
      },
    ],
  });
  replace(
    body,
    add(list),
    section(
      "Add a user",
      form(
        "Add user",
        [
          { name: "name", label: "Username", required: true },
          { name: "password", label: "Password", kind: "password" },
          { name: "tags", label: "Tags (comma separated)", placeholder: "administrator, monitoring, policymaker, management" },
        ],
        "Add user",
        async (v) => {
          const body: Record<string, unknown> = { tags: String(v.tags) };
          if (v.password !== "") body.password = v.password;
          else body.password_hash = "";
          await api("PUT", path("users", String(v.name)), { body });
          await list.refresh();
          return `User ${v.name} added`;
        },
      ),
    ),
  );
}

async function userDetail(body: HTMLElement, name: string, add: (l: ListView) => Child) {
  const user = await get<User>(path("users", name));
  const vhosts = await vhostNames();
  const perms: ListView = listView<Permission>({
    path: path("users", name, "permissions"),
    label: "permissions",
    columns: [
      { label: "Vhost", cell: (p) => p.vhost },
      { label: "Configure", cell: (p) => p.configure },
      { label: "Write", cell: (p) => p.write },
      { label: "Read", cell: (p) => p.read },
      {
        label: "Action",
        cell: (p) =>
          deleteButton(
            `Clear permissions of ${name} in ${p.vhost}`,
            path("permissions", p.vhost, name),
            "Permissions cleared",
            () => perms.refresh(),
          ),
      },
    ],
  });
  const topic: ListView = listView<TopicPermission>({
    path: path("users", name, "topic-permissions"),
    label: "topic permissions",
    columns: [
      { label: "Vhost", cell: (p) => p.vhost },
      { label: "Exchange", cell: (p) => p.exchange },
      { label: "Write", cell: (p) => p.write },
      { label: "Read", cell: (p) => p.read },
      {
        label: "Action",
        cell: (p) =>
          deleteButton(
            `Clear topic permissions of ${name} in ${p.vhost}`,
            path("topic-permissions", p.vhost, name),
            "Topic permissions cleared",
            () => topic.refresh(),
          ),
      },
    ],
  });
  replace(
    body,
    h("h2", null, `User ${user.name}`),
    facts([["Tags", tagsOf(user)]]),
    section(
      "Permissions",
      add(perms),
      form(
        "Set permission",
        [
          { name: "vhost", label: "Virtual host", kind: "select", options: vhosts, value: "/" },
          { name: "configure", label: "Configure regexp", value: ".*" },
          { name: "write", label: "Write regexp", value: ".*" },
          { name: "read", label: "Read regexp", value: ".*" },
        ],
        "Set permission",
        async (v) => {
          await api("PUT", path("permissions", String(v.vhost), name), { body: { configure: v.configure, write: v.write, read: v.read } });
          await perms.refresh();
          return `Permissions of ${name} in ${v.vhost} set`;
        },
      ),
    ),
    section(
      "Topic permissions",
      add(topic),
      form(
        "Set topic permission",
        [
          { name: "vhost", label: "Virtual host", kind: "select", options: vhosts, value: "/" },
          { name: "exchange", label: "Exchange", value: "amq.topic" },
          { name: "write", label: "Write regexp", value: ".*" },
          { name: "read", label: "Read regexp", value: ".*" },
        ],
        "Set topic permission",
        async (v) => {
          await api("PUT", path("topic-permissions", String(v.vhost), name), {
            body: { exchange: v.exchange, write: v.write, read: v.read },
          });
          await topic.refresh();
          return `Topic permissions of ${name} in ${v.vhost} set`;
        },
      ),
    ),
    section(
      "Update this user",
      form(
        "Update user",
        [
          { name: "password", label: "New password (empty: keep)", kind: "password" },
          { name: "tags", label: "Tags (comma separated)", value: tagsOf(user) },
        ],
        "Update user",
        async (v) => {
          const update: Record<string, unknown> = { tags: String(v.tags) };
          if (v.password !== "") update.password = v.password;
          else update.password_hash = user.password_hash ?? "";
          await api("PUT", path("users", name), { body: update });
          return `User ${name} updated`;
        },
      ),
    ),
  );
}

function vhosts(body: HTMLElement, add: (l: ListView) => Child) {
  const list: ListView = listView<{ name: string; messages?: number; description?: string }>({
    path: "vhosts",
    label: "virtual hosts",
    columns: [
      { label: "Name", sort: "name", cell: (v) => v.name },
      { label: "Messages", cell: (v) => num(v.messages ?? 0) },
      { label: "Description", cell: (v) => v.description ?? "" },
      {
        label: "Action",
        cell: (v) =>
          deleteButton(`Delete virtual host ${v.name}`, path("vhosts", v.name), `Virtual host ${v.name} deleted`, () => list.refresh()),
      },
    ],
  });
  replace(
    body,
    add(list),
    section(
      "Add a virtual host",
      form(
        "Add virtual host",
        [
          { name: "name", label: "Name", required: true },
          { name: "description", label: "Description" },
        ],
        "Add virtual host",
        async (v) => {
          await api("PUT", path("vhosts", String(v.name)), { body: { description: v.description } });
          await list.refresh();
          return `Virtual host ${v.name} added`;
        },
      ),
    ),
  );
}

function policyList(kind: "policies" | "operator-policies", add: (l: ListView) => Child, vhosts: string[]): Child[] {
  const list: ListView = listView<Policy>({
    path: kind,
    label: kind === "policies" ? "policies" : "operator policies",
    columns: [
      { label: "Vhost", cell: (p) => p.vhost },
      { label: "Name", sort: "name", cell: (p) => p.name },
      { label: "Pattern", cell: (p) => p.pattern },
      { label: "Apply to", cell: (p) => p["apply-to"] },
      { label: "Definition", cell: (p) => args(p.definition) },
      { label: "Priority", cell: (p) => String(p.priority) },
      {
        label: "Action",
        cell: (p) =>
          deleteButton(
            `Delete ${kind === "policies" ? "policy" : "operator policy"} ${p.name}`,
            path(kind, p.vhost, p.name),
            `Policy ${p.name} deleted`,
            () => list.refresh(),
          ),
      },
    ],
  });
  const title = kind === "policies" ? "Add policy" : "Add operator policy";
  return [
    add(list),
    form(
      title,
      [
        { name: "vhost", label: "Virtual host", kind: "select", options: vhosts, value: "/" },
        { name: "name", label: "Name", required: true },
        { name: "pattern", label: "Pattern (regexp)", required: true, value: ".*" },
        {
          name: "apply-to",
          label: "Apply to",
          kind: "select",
          options: kind === "policies"
            ? ["all", "queues", "exchanges", "classic_queues", "quorum_queues"]
            : ["queues", "classic_queues", "quorum_queues"],
          value: kind === "policies" ? "all" : "queues",
        },
        { name: "priority", label: "Priority", kind: "number", value: "0" },
        { name: "definition", label: "Definition (JSON)", kind: "textarea", required: true, placeholder: '{"max-length": 1000}' },
      ],
      title,
      async (v) => {
        await api("PUT", path(kind, String(v.vhost), String(v.name)), {
          body: {
            pattern: v.pattern,
            "apply-to": v["apply-to"],
            priority: Number(v.priority),
            definition: parseJsonObject(String(v.definition), "Definition"),
          },
        });
        await list.refresh();
        return `Policy ${v.name} set`;
      },
    ),
  ];
}

async function policies(body: HTMLElement, add: (l: ListView) => Child, session: Session) {
  const vhosts = await vhostNames();
  replace(
    body,
    section("Policies", ...policyList("policies", add, vhosts)),
    session.is("administrator") ? section("Operator policies", ...policyList("operator-policies", add, vhosts)) : null,
  );
}

async function limits(body: HTMLElement, add: (l: ListView) => Child) {
  const vhosts = await vhostNames();
  const users = (await get<User[]>("users")).map((u) => u.name);
  const vhostLimits: ListView = listView<{ vhost: string; value: Record<string, number> }>({
    path: "vhost-limits",
    label: "virtual host limits",
    columns: [{ label: "Vhost", cell: (l) => l.vhost }, { label: "Limits", cell: (l) => args(l.value) }],
  });
  const userLimits: ListView = listView<{ user: string; value: Record<string, number> }>({
    path: "user-limits",
    label: "user limits",
    columns: [{ label: "User", cell: (l) => l.user }, { label: "Limits", cell: (l) => args(l.value) }],
  });
  replace(
    body,
    section(
      "Virtual host limits",
      add(vhostLimits),
      form(
        "Set virtual host limit",
        [
          { name: "vhost", label: "Virtual host", kind: "select", options: vhosts, value: "/" },
          { name: "limit", label: "Limit", kind: "select", options: ["max-connections", "max-queues"], value: "max-connections" },
          { name: "value", label: "Value (negative: no limit)", kind: "number", required: true },
        ],
        "Set limit",
        async (v) => {
          await api("PUT", path("vhost-limits", String(v.vhost), String(v.limit)), { body: { value: Number(v.value) } });
          await vhostLimits.refresh();
          return `Limit ${v.limit} of ${v.vhost} set`;
        },
      ),
    ),
    section(
      "User limits",
      add(userLimits),
      form(
        "Set user limit",
        [
          { name: "user", label: "User", kind: "select", options: users },
          { name: "limit", label: "Limit", kind: "select", options: ["max-connections", "max-channels"], value: "max-connections" },
          { name: "value", label: "Value (negative: no limit)", kind: "number", required: true },
        ],
        "Set user limit",
        async (v) => {
          await api("PUT", path("user-limits", String(v.user), String(v.limit)), { body: { value: Number(v.value) } });
          await userLimits.refresh();
          return `Limit ${v.limit} of ${v.user} set`;
        },
      ),
    ),
    facts([["Note", "Limits are removed through the API (DELETE /api/vhost-limits/{vhost}/{name})."]]),
  );
}
