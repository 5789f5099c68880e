// What a page of the console is. Each resource has its module under pages/ and one entry in
// pages/mod.ts; a plugin's page names the API path it needs (`probe`) and is shown only when that
// path answers, so a console built before the plugin landed, or a node without it, hides it.
export interface User {
  name: string;
  tags: string[];
}

export interface Session {
  user: User;
  /** The user has the tag (administrator implies every other). */
  is(tag: "administrator" | "monitoring" | "policymaker" | "management"): boolean;
}

export type Cleanup = () => void;

export interface Page {
  /** The first part of the route: #/<id>/… */
  id: string;
  title: string;
  /** Whether the session's user sees it (tags, as RabbitMQ's tabs). */
  visible(session: Session): boolean;
  /** For plugin pages: an API path (e.g. "shovels") that must answer for the page to show. */
  probe?: string;
  /** Renders into `view`; `params` are the rest of the route, decoded. */
  render(view: HTMLElement, params: string[], session: Session): Cleanup | void | Promise<Cleanup | void>;
}
