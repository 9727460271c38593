export { type BuildIssue, buildScenarioModel } from "./build.js";
export { parseSchemaDocument } from "./document.js";
export {
  parseScenario,
  type Scenario,
  type ScenarioFormat,
  type SourceSpot,
  scenarioFormatOf,
  scenarioIssue,
} from "./parse.js";
export {
  SCENARIO_SCHEMA_ID,
  type ScenarioActivity,
  type ScenarioDocument,
  type ScenarioJob,
  type ScenarioLink,
  type ScenarioOperation,
  ScenarioSchema,
  type ScenarioTask,
  scenarioJsonSchema,
} from "./schema.js";
