import { runArea } from "./harness.ts";
import { queueTypeScenarios } from "./scenarios_queue_types.ts";

runArea("queue_types", queueTypeScenarios);
