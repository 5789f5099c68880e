// Definitions: export (download, and shown) and import (a file or pasted JSON), for the whole
// broker or one vhost. Administrators only, as the API.
import { api } from "../api.ts";
import { h, path, replace, uid } from "../dom.ts";
import { form, notify, section } from "../ui.ts";
import { vhostNames } from "./common.ts";
import type { Page } from "./page.ts";

export const definitionsPage: Page = {
  id: "definitions",
  title: "Definitions",
  visible: (s) => s.is("administrator"),
  async render(view) {
    const vhosts = await vhostNames();
    const output = h("pre", { class: "definitions", tabindex: 0, "aria-label": "Exported definitions" });
    const download = h("p");
    const fileId = uid("file");
    const file = h("input", { id: fileId, type: "file", accept: "application/json,.json" });
    const text = h("textarea", { id: uid("defs"), rows: 8, placeholder: '{"queues": [...]}' });
    file.addEventListener("change", async () => {
      const chosen = file.files?.[0];
      if (chosen) text.value = await chosen.text();
    });
    const scopeOptions = ["All virtual hosts", ...vhosts];
    replace(
      view,
      h("h1", { tabindex: -1 }, "Definitions"),
      section(
        "Export",
        form(
          "Export definitions",
          [
            { name: "vhost", label: "Scope", kind: "select", options: scopeOptions, value: scopeOptions[0]! },
          ],
          "Export",
          async (v) => {
            const scoped = v.vhost !== scopeOptions[0];
            const json = await api<string>("GET", scoped ? path("definitions", String(v.vhost)) : "definitions", { text: true });
            const pretty = JSON.stringify(JSON.parse(json), null, 2);
            output.textContent = pretty;
            const url = URL.createObjectURL(new Blob([pretty], { type: "application/json" }));
            replace(
              download,
              h("a", { href: url, download: `warren-definitions${scoped ? `-${v.vhost}` : ""}.json` }, "Download the file"),
            );
            return "Definitions exported";
          },
        ),
        download,
        output,
      ),
      section(
        "Import",
        h("p", null, "An import is atomic: the first bad entry is reported and nothing is changed."),
        h("div", { class: "field" }, h("label", { for: fileId }, "Definitions file"), file),
        h("div", { class: "field" }, h("label", { for: text.id }, "or paste JSON"), text),
        form(
          "Import definitions",
          [
            { name: "vhost", label: "Into", kind: "select", options: scopeOptions, value: scopeOptions[0]! },
          ],
          "Import",
          async (v) => {
            if (text.value.trim() === "") throw new Error("Choose a file or paste definitions first");
            try {
              JSON.parse(text.value);
            } catch (err) {
              throw new Error(`The definitions are not JSON: ${(err as Error).message}`);
            }
            const scoped = v.vhost !== scopeOptions[0];
            await api("POST", scoped ? path("definitions", String(v.vhost)) : "definitions", { body: text.value });
            notify("Definitions imported", "ok");
            return "Definitions imported";
          },
        ),
      ),
    );
  },
};
