export {
  detectJobShopFormat,
  JOB_SHOP_FORMATS,
  type JobShopFormat,
  parseJobShop,
} from "./detect.js";
export { formatInputError, type InputError } from "./input-error.js";
export { parseOrLibrary } from "./orlib.js";
export { parseTaillard } from "./taillard.js";
