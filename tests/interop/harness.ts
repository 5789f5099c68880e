// Runs one area's scenarios as bun tests: against Warren always, against RabbitMQ when
// RABBITMQ_REF_URL is set, else against RabbitMQ's recorded outcomes in golden/<area>.json.
//   RABBITMQ_REF_URL=amqp://…  compare Warren with the live reference; record missing goldens
//   UPDATE_GOLDEN=1            rewrite the golden records from the live reference
//   INTEROP_ONLY=rabbitmq      skip Warren: check the reference against the golden records
//                              (run the suite twice this way to prove every scenario deterministic)
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { BROKER_IS_PROCESS, startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { type Observation, runScenario, type Scenario } from "./scenario.ts";
import { managementApiAdmin, rabbitAdmin, warrenAdmin } from "./admin.ts";

type Golden = Record<string, Observation[]>;

const refUrl = process.env.RABBITMQ_REF_URL || undefined;
const update = process.env.UPDATE_GOLDEN === "1";
const onlyRabbit = process.env.INTEROP_ONLY === "rabbitmq";
let announced = false;
/** Each scenario is capped at 20 s per broker (scenario.ts); two brokers plus cleanup fit. */
const TEST_TIMEOUT_MS = 60_000;

function goldenPath(area: string): URL {
  return new URL(`./golden/${area}.json`, import.meta.url);
}

function loadGolden(area: string): Golden {
  const p = goldenPath(area);
  return existsSync(p) ? (JSON.parse(readFileSync(p, "utf8")) as Golden) : {};
}

/** One scenario per block, one observation per line: reviewable diffs. */
function formatGolden(g: Golden): string {
  const blocks = Object.entries(g).map(([name, obs]) =>
    `  ${JSON.stringify(name)}: [\n${obs.map((o) => `    ${JSON.stringify(o)}`).join(",\n")}\n  ]`
  );
  return `{\n${blocks.join(",\n")}\n}\n`;
}

/** Registers one test per scenario (Hono's "one conformance suite, many implementations"). */
export function runArea(area: string, scenarios: Scenario[]): void {
  const seen = new Set<string>();
  for (const s of scenarios) {
    if (seen.has(s.name)) throw new Error(`duplicate scenario name in ${area}: ${s.name}`);
    seen.add(s.name);
  }
  if (!refUrl && !announced) {
    announced = true;
    console.log("RABBITMQ_REF_URL unset: comparing Warren with recorded RabbitMQ outcomes");
  }
  if (!refUrl && onlyRabbit) throw new Error("INTEROP_ONLY=rabbitmq needs RABBITMQ_REF_URL");
  const golden = loadGolden(area);
  let dirty = false;

  describe(`interop ${area}`, () => {
    let warren: TestBroker | undefined;
    beforeAll(async () => {
      if (!onlyRabbit) warren = await startTestBroker();
    });
    afterAll(async () => {
      await warren?.stop();
      if (dirty) {
        const ordered: Golden = {};
        for (const s of scenarios) {
          const g = golden[s.name];
          if (g) ordered[s.name] = g;
        }
        mkdirSync(new URL("./golden/", import.meta.url), { recursive: true });
        writeFileSync(goldenPath(area), formatGolden(ordered));
      }
    });

    for (const s of scenarios) {
      test(s.name, async () => {
        let expected = golden[s.name];
        if (refUrl) {
          const rabbit = await runScenario(s, refUrl, undefined, rabbitAdmin());
          const broken = rabbit.find(([label]) => label === "aborted");
          if (broken) throw new Error(`scenario fails against RabbitMQ itself: ${JSON.stringify(broken[1])}`);
          if (!expected || update) {
            golden[s.name] = rabbit;
            dirty = true;
          } else if (onlyRabbit) {
            expect(rabbit).toEqual(expected);
          }
          expected = rabbit;
        }
        if (onlyRabbit) return;
        if (!expected) throw new Error(`no golden record for "${s.name}": run once with RABBITMQ_REF_URL set`);
        const url = warren?.url;
        if (!url) throw new Error("Warren did not start");
        const admin = BROKER_IS_PROCESS
          ? managementApiAdmin(`http://guest:guest@127.0.0.1:${warren!.httpPort}`)
          : warrenAdmin(warren!.broker);
        expect(await runScenario(s, url, undefined, admin)).toEqual(expected);
      }, TEST_TIMEOUT_MS);
    }
  });
}
