import { runArea } from "./harness.ts";
import { confirmScenarios } from "./scenarios_confirm.ts";

runArea("confirm", confirmScenarios);
