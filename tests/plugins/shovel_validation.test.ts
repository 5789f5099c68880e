// Every invalid shovel definition gets RabbitMQ's 400 and text. The expected texts were recorded
// from RabbitMQ 3.10.8's management API; with RABBITMQ_REF_HTTP set the same bodies also go to
// the reference broker and the two answers are compared.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api, basic } from "../helpers/http.ts";

setDefaultTimeout(30_000);

const base = { "src-uri": "amqp://", "src-queue": "a", "dest-uri": "amqp://", "dest-queue": "b" };
const without = (key: string) => Object.fromEntries(Object.entries(base).filter(([k]) => k !== key));
const NAME = "shovel-validation-probe";

/** [what, definition, reason as RabbitMQ 3.10.8 answers it]. */
const CASES: [string, unknown, string][] = [
  ["both sources", { ...base, "src-exchange": "x" }, "Cannot specify 'src-exchange' and 'src-queue'"],
  ["no source", without("src-queue"), "Must specify 'src-exchange' or 'src-queue'"],
  ["both destinations", { ...base, "dest-exchange": "x" }, "Cannot specify 'dest-exchange' and 'dest-queue'"],
  ["no-ack with a count", { ...base, "ack-mode": "no-ack", "src-delete-after": 5 }, "Cannot specify 'no-ack' and numerical 'delete-after'"],
  [
    "unknown ack mode",
    { ...base, "ack-mode": "bogus" },
    'ack-mode should be one of [&lt;&lt;"no-ack"&gt;&gt;,&lt;&lt;"on-publish"&gt;&gt;,&lt;&lt;"on-confirm"&gt;&gt;], actually was &lt;&lt;"bogus"&gt;&gt;',
  ],
  [
    "bad delete-after",
    { ...base, "src-delete-after": "sometimes" },
    'src-delete-after should be a number greater than or equal to 0, "never" or "queue-length", actually was &lt;&lt;"sometimes"&gt;&gt;',
  ],
  [
    "negative delete-after",
    { ...base, "src-delete-after": -1 },
    'src-delete-after should be a number greater than or equal to 0, "never" or "queue-length", actually was -1',
  ],
  [
    "old delete-after key",
    { ...base, "delete-after": "x" },
    'delete-after should be a number greater than or equal to 0, "never" or "queue-length", actually was &lt;&lt;"x"&gt;&gt;',
  ],
  ["not an AMQP URI", { ...base, "src-uri": "http://x" }, '"http://x" not a valid URI: {{unexpected_uri_scheme,"http"},"http://x"}'],
  ["no src-uri", without("src-uri"), `Key "src-uri" not found in ${NAME}`],
  ["no dest-uri", without("dest-uri"), `Key "dest-uri" not found in ${NAME}`],
  ["a number for a URI", { ...base, "src-uri": 5 }, "src-uri should be list, actually was 5"],
  ["a number in a URI list", { ...base, "src-uri": ["amqp://", 5] }, "src-uri should be list, actually was 5"],
  ["a number for a queue", { ...base, "src-queue": 5 }, "src-queue should be binary, actually was 5"],
  [
    "text for a prefetch",
    { ...base, "src-prefetch-count": "x" },
    'src-prefetch-count should be a number, actually was &lt;&lt;"x"&gt;&gt;',
  ],
  ["text for reconnect-delay", { ...base, "reconnect-delay": "x" }, 'reconnect-delay should be a number, actually was &lt;&lt;"x"&gt;&gt;'],
  [
    "text for a flag",
    { ...base, "dest-add-forward-headers": "x" },
    'dest-add-forward-headers should be boolean, actually was &lt;&lt;"x"&gt;&gt;',
  ],
  [
    "text for the timestamp flag",
    { ...base, "dest-add-timestamp-header": "x" },
    'dest-add-timestamp-header should be boolean, actually was &lt;&lt;"x"&gt;&gt;',
  ],
  ["an unknown key", { ...base, "unknown-key": 1 }, `Unrecognised terms [{&lt;&lt;"unknown-key"&gt;&gt;,1}] in ${NAME}`],
  ["publish properties not an object", { ...base, "dest-publish-properties": 5 }, "dest-publish-properties not a list 5"],
  [
    "a number for an exchange key",
    { ...without("src-queue"), "src-exchange": "a", "src-exchange-key": 5 },
    "src-exchange-key should be binary, actually was 5",
  ],
  ["a port out of range", { ...base, "src-uri": "amqp://h:99999" }, '"amqp://h:99999" not a valid URI: bad port "99999"'],
];
/** Where Warren's text differs from RabbitMQ's (its Erlang error terms we do not reproduce). */
const OWN_WORDING = new Set(["a port out of range"]);

let w: TestBroker;
beforeAll(async () => {
  w = await startTestBroker();
});
afterAll(async () => {
  await w?.stop();
});

const put = (target: string, value: unknown, auth?: string) => api(target, "PUT", `/api/parameters/shovel/%2f/${NAME}`, { value }, auth);

describe("shovel definitions Warren refuses, with RabbitMQ's texts", () => {
  for (const [what, value, reason] of CASES) {
    test(what, async () => {
      const r = await put(w.httpUrl, value);
      expect(r.status).toBe(400);
      expect(r.body).toEqual({ error: "bad_request", reason: `Validation failed\n\n${reason}\n` });
    });
  }

  test("several problems are all reported", async () => {
    const r = await put(w.httpUrl, { "src-queue": "a", "src-exchange": "x", "dest-queue": "b", "dest-exchange": "y" });
    expect(r.body.reason).toBe(
      `Validation failed\n\nCannot specify 'src-exchange' and 'src-queue'\nCannot specify 'dest-exchange' and 'dest-queue'\n` +
        `Key "dest-uri" not found in ${NAME}\nKey "src-uri" not found in ${NAME}\n`,
    );
  });

  test("nothing invalid was stored and no shovel started", async () => {
    expect((await api(w.httpUrl, "GET", "/api/parameters/shovel")).body).toEqual([]);
    expect((await api(w.httpUrl, "GET", "/api/shovels")).body).toEqual([]);
  });

  test("RabbitMQ's defaults and later keys are accepted", async () => {
    const ok = {
      ...base,
      "src-predeclared": false,
      "dest-predeclared": false,
      "src-queue-args": { "x-max-length": 10 },
      "reconnect-delay": 1,
      "prefetch-count": 10,
    };
    expect((await put(w.httpUrl, ok)).status).toBeLessThan(300);
    expect((await api(w.httpUrl, "DELETE", `/api/parameters/shovel/%2f/${NAME}`)).status).toBe(204);
  });
});

const refHttp = process.env.RABBITMQ_REF_HTTP;
describe.skipIf(!refHttp)("the same bodies against the reference RabbitMQ (RABBITMQ_REF_HTTP)", () => {
  const u = refHttp ? new URL(refHttp) : undefined;
  const target = u ? `${u.protocol}//${u.host}` : "";
  const auth = u ? basic(decodeURIComponent(u.username) || "guest", decodeURIComponent(u.password) || "guest") : "";
  for (const [what, value, reason] of CASES) {
    test(what, async () => {
      const [ours, theirs] = await Promise.all([put(w.httpUrl, value), put(target, value, auth)]);
      if (theirs.status < 300) await api(target, "DELETE", `/api/parameters/shovel/%2f/${NAME}`, undefined, auth);
      expect(theirs.status).toBe(400);
      expect(ours.status).toBe(400);
      if (!OWN_WORDING.has(what)) expect(ours.body).toEqual(theirs.body);
      else expect(theirs.body.reason).toContain("not a valid URI");
      expect(ours.body.reason).toBe(`Validation failed\n\n${reason}\n`);
    });
  }
});
if (!refHttp) console.log("skipping the shovel validation differential: RABBITMQ_REF_HTTP is not set");
