import { runArea } from "./harness.ts";
import { queueScenarios } from "./scenarios_queue.ts";

runArea("queue", queueScenarios);
