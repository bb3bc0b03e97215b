/** `npm run docs:config`: rewrites the config reference in docs/configuration.md from the schema. */
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { withReference } from "../config/reference";

/** The page that holds the reference. */
export const CONFIG_REFERENCE_PAGE = path.resolve(__dirname, "..", "docs", "configuration.md");

if (require.main === module) {
    writeFileSync(CONFIG_REFERENCE_PAGE, withReference(readFileSync(CONFIG_REFERENCE_PAGE, "utf8")));
    console.log(`updated the config reference in ${CONFIG_REFERENCE_PAGE}`);
}
