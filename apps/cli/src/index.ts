export { CliError, EXIT } from "./errors.js";
export { main } from "./main.js";
