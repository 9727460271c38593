export { main } from "./main.js";
export { EXIT, CliError } from "./errors.js";
