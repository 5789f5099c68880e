import { runArea } from "./harness.ts";
import { extensionScenarios } from "./scenarios_extensions.ts";

runArea("extensions", extensionScenarios);
