import { runArea } from "./harness.ts";
import { priorityScenarios } from "./scenarios_priority.ts";

runArea("priority", priorityScenarios);
