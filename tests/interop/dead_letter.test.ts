import { runArea } from "./harness.ts";
import { deadLetterScenarios } from "./scenarios_dead_letter.ts";

runArea("dead_letter", deadLetterScenarios);
