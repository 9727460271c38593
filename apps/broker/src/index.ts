/**
 * MQTT broker (aedes) with per-agent authentication and ACLs derived from the topic catalogue.
 * See README.md for settings, the users file, roles, the ACL table and dev mode.
 */
export {
  devIdentity,
  filterCovers,
  type Identity,
  publishAllowed,
  ROLES,
  type Role,
  subscribeAllowed,
  subscribeFilters,
} from "./acl.js";
export {
  type AuthDecision,
  type AuthPolicy,
  authenticateConnect,
  type ConnectFacts,
  clientIdOwnedBy,
  isLoopback,
  type RefusalCode,
} from "./auth.js";
export {
  type BrokerDeps,
  type BrokerStats,
  createBroker,
  type Endpoint,
  type RunningBroker,
  startBrokerFromConfig,
} from "./broker.js";
export {
  BROKER_DEFAULTS,
  BROKER_ENV,
  type BrokerConfig,
  type BrokerConfigInput,
  BrokerConfigSchema,
  type BrokerUser,
  BrokerUserSchema,
  type LoadBrokerConfigOptions,
  loadBrokerConfig,
  loadUsersFile,
  parseBrokerConfig,
  type Result,
} from "./config.js";
export {
  BROKER_ERROR_CODES,
  BrokerError,
  type BrokerErrorCode,
  REFUSAL_REASONS,
  type RefusalReason,
} from "./errors.js";
export { type FrameVerdict, MqttFrameMeter } from "./frame-meter.js";
export { type BrokerMetrics, serveBrokerMetrics } from "./metrics.js";
export {
  DEFAULT_SCRYPT,
  hashPassword,
  parsePasswordHash,
  type ScryptParams,
  verifyPassword,
} from "./password.js";
