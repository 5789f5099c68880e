import { runArea } from "./harness.ts";
import { permissionScenarios } from "./scenarios_permissions.ts";

runArea("permissions", permissionScenarios);
