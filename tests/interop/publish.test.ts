import { runArea } from "./harness.ts";
import { publishScenarios } from "./scenarios_publish.ts";

runArea("publish", publishScenarios);
